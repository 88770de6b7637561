--[[ Plug-in Manager panel: service URL, token file, agent / profile, how photos are sent, and a connection test. ]]
local LrView = import "LrView"
local LrDialogs = import "LrDialogs"
local LrTasks = import "LrTasks"

local Settings = require "Settings"
local ServiceClient = require "ServiceClient"

local function testConnection(prefs)
  LrTasks.startAsyncTask(function()
    local token, terr = ServiceClient.readToken(prefs.tokenFile)
    if not token then
      LrDialogs.message("exposure-batch", terr, "critical")
      return
    end
    local client = ServiceClient.new({ url = prefs.url, token = token })
    local health, err = client:health()
    if health then
      LrDialogs.message("exposure-batch", string.format("Connected: exposure-batch %s, model %s, %d worker(s).",
        tostring(health.version), tostring(health.model), health.workers or 0), "info")
    else
      LrDialogs.message("exposure-batch service is not running", err.message, "critical")
    end
  end)
end

local function sectionsForTopOfDialog(f, _propertyTable)
  local prefs = Settings.ensureDefaults()
  local bind = LrView.bind
  return {
    {
      title = "exposure-batch service",
      bind_to_object = prefs,
      f:row { f:static_text { title = "Service URL:", width = LrView.share "label" },
              f:edit_field { value = bind "url", width_in_chars = 32 } },
      f:row { f:static_text { title = "Token file:", width = LrView.share "label" },
              f:edit_field { value = bind "tokenFile", width_in_chars = 32,
                             placeholder_string = ServiceClient.defaultTokenFile() } },
      f:row { f:static_text { title = "Agent:", width = LrView.share "label" },
              f:popup_menu { value = bind "agent", items = {
                { title = "Learned (Exposure agent)", value = "learned" },
                { title = "Classic automatic edit", value = "classic" } } } },
      f:row { f:static_text { title = "Profile (saved look):", width = LrView.share "label" },
              f:edit_field { value = bind "profile", width_in_chars = 20 } },
      f:row { f:static_text { title = "Send photos as:", width = LrView.share "label" },
              f:popup_menu { value = bind "mode", items = {
                { title = "Automatic (paths to a local service, previews to a remote one)", value = "auto" },
                { title = "File paths (service on this computer)", value = "paths" },
                { title = "Previews (service on another computer)", value = "previews" } } } },
      f:row { f:push_button { title = "Test connection", action = function() testConnection(prefs) end } },
    },
  }
end

return { sectionsForTopOfDialog = sectionsForTopOfDialog }
