--- nslab.route: placeholder re-export of the C primitives until documented.
-- @module nslab.route
return require("nslab.core").route
