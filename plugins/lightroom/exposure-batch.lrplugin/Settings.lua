--[[ Plug-in preferences (Plug-in Manager panel): service URL, token file, agent, profile, mode. ]]
local LrPrefs = import "LrPrefs"

local Settings = {}

Settings.DEFAULTS = {
  url = "http://127.0.0.1:8765",
  tokenFile = "",        -- empty: the service's default token file in the user's config folder
  agent = "learned",     -- learned | classic
  profile = "",          -- name of a saved look in the service's --profiles folder (empty: the agent decides)
  mode = "auto",         -- auto (paths for a local service, previews for a remote one) | paths | previews
  previewSize = 1024,    -- long side of the previews sent to a remote service, pixels
}

function Settings.ensureDefaults()
  local prefs = LrPrefs.prefsForPlugin()
  for key, value in pairs(Settings.DEFAULTS) do
    if prefs[key] == nil then
      prefs[key] = value
    end
  end
  return prefs
end

--- A plain table of the current settings (defaults filled in).
function Settings.current()
  local prefs = Settings.ensureDefaults()
  local out = {}
  for key, value in pairs(Settings.DEFAULTS) do
    local v = prefs[key]
    if v == nil then v = value end
    out[key] = v
  end
  return out
end

return Settings
