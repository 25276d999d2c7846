--- nslab.link: placeholder re-export of the C primitives until documented.
-- @module nslab.link
return require("nslab.core").link
