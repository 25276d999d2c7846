--- nslab.sysctl: placeholder re-export of the C primitives until documented.
-- @module nslab.sysctl
return require("nslab.core").sysctl
