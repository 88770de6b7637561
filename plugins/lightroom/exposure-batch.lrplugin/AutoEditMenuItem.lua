--[[ Menu item: runs the auto-edit off the UI thread. ]]
local LrTasks = import "LrTasks"
local AutoEdit = require "AutoEdit"

LrTasks.startAsyncTask(function()
  AutoEdit.run()
end)
