--- nslab.netns: placeholder re-export of the C primitives until documented.
-- @module nslab.netns
return require("nslab.core").netns
