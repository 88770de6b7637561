--[[ Fills in default plug-in preferences on load. ]]
local Settings = require "Settings"
Settings.ensureDefaults()
