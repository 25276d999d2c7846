--- nslab.exec: placeholder until exec lands.
-- @module nslab.exec
return require("nslab.core").exec
