--- nslab.addr: placeholder re-export of the C primitives until documented.
-- @module nslab.addr
return require("nslab.core").addr
