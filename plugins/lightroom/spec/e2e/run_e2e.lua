--[[ End-to-end driver: the plug-in's real code (AutoEdit, ServiceClient, DevelopSettings, Json) against a real
`exposure-batch serve`, over real HTTP (luasocket behind LrHttp), on a fake catalogue.

Run from plugins/lightroom:  lua5.1 spec/e2e/run_e2e.lua  with the environment
  EB_URL, EB_TOKEN_FILE, EB_MODE (paths | previews), EB_OUT (JSON report written here),
  EB_PHOTOS: one photo per line, "PATH|FILEFORMAT" (JPG, TIFF, RAW, DNG). ]]
package.path = "exposure-batch.lrplugin/?.lua;spec/?.lua;spec/e2e/?.lua;" .. package.path

local FakeSdk = require "fake_sdk"
local LrHttp = require "lrhttp_socket"

local photos = {}
for line in (os.getenv("EB_PHOTOS") or ""):gmatch("[^\n]+") do
  local path, format = line:match("^(.*)|(%u+)$")
  local raw = format == "RAW" or format == "DNG"
  local settings = raw and { Temperature = 5500, Tint = 0, Exposure2012 = 0, ProcessVersion = "6.7",
                             WhiteBalance = "As Shot" }
    or { IncrementalTemperature = 0, IncrementalTint = 0, Exposure2012 = 0, ProcessVersion = "6.7",
         WhiteBalance = "As Shot" }
  photos[#photos + 1] = FakeSdk.photo({ path = path, fileFormat = format, settings = settings })
end

local state = FakeSdk.install({
  photos = photos, http = LrHttp,
  prefs = { url = os.getenv("EB_URL"), tokenFile = os.getenv("EB_TOKEN_FILE"), mode = os.getenv("EB_MODE") or "auto" },
  sleep = function(s) require("socket").sleep(s) end,
  renderPreview = function(photo) return true, photo.path end, -- the test's photos are small JPEGs already
})
local Json = require "Json"
local report = FakeSdk.runTask(require("AutoEdit").run)

local out = { applied = report and report.applied or 0, dialogs = state.dialogs, bezels = state.bezels,
              writes = state.writes, photos = {}, portions = state.scopes[1] and state.scopes[1].portions or {} }
for i, p in ipairs(photos) do
  out.photos[i] = { path = p.path, applied = p.applied, settings = p.settings }
end
local fh = assert(io.open(os.getenv("EB_OUT"), "w"))
fh:write(Json.encode(out))
fh:close()
