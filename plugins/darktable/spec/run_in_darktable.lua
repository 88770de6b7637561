--[[ Test driver run inside a real darktable (darktable --luacmd 'dofile("run_in_darktable.lua")').

Environment: EB_DT_PLUGIN_DIR, EB_DT_OUT (report, "key=value" lines, "done" last), EB_URL, EB_TOKEN_FILE, EB_CLI,
EB_PHOTO_A (edited by the service; rating, a tag and a group with EB_PHOTO_D set first, must survive), EB_PHOTO_B (edited, then undone),
EB_PHOTO_C (edited by the command line: the service URL is pointed at a closed port first). ]]
local dt = require "darktable"
package.path = os.getenv("EB_DT_PLUGIN_DIR") .. "/?.lua;" .. package.path

-- every line is written at once, so a test that stops a stuck darktable sees how far the script got
local report = io.open(os.getenv("EB_DT_OUT"), "w")
local function put(k, v)
  report:write(k .. "=" .. tostring(v) .. "\n")
  report:flush()
end
put("started", "yes")

local ok, err = pcall(function()
  local eb = require "exposure_batch"
  dt.preferences.write("exposure_batch", "url", "string", os.getenv("EB_URL"))
  dt.preferences.write("exposure_batch", "token_file", "string", os.getenv("EB_TOKEN_FILE"))
  dt.preferences.write("exposure_batch", "cli", "string", os.getenv("EB_CLI"))
  put("lib_registered", dt.gui.libs["exposure_batch"] ~= nil)

  local a = dt.database.import(os.getenv("EB_PHOTO_A"))
  a.rating = 4
  dt.tags.attach(dt.tags.create("client|smith"), a)
  local d = dt.database.import(os.getenv("EB_PHOTO_D"))
  d:group_with(a) -- a leads a group of two
  local r = eb.edit_images({ a })
  put("a_via", r.via)
  put("a_reload", r.reload)
  put("api_version", dt.configuration.api_version_string)
  put("a_edited", #r.edited)
  put("a_failed", #r.failed)
  local fresh = r.edited[1]
  put("a_rating", fresh.rating)
  local tags = {}
  for _, t in ipairs(dt.tags.get_tags(fresh)) do tags[#tags + 1] = t.name end
  put("a_tags", table.concat(tags, ","))
  put("a_altered", fresh.is_altered)
  put("a_group_size", #fresh:get_group_members())
  put("a_is_leader", fresh.group_leader.id == fresh.id)

  local b = dt.database.import(os.getenv("EB_PHOTO_B"))
  local rb = eb.edit_images({ b })
  put("b_edited", #rb.edited)
  put("b_restored", #eb.undo_last())

  dt.preferences.write("exposure_batch", "url", "string", "http://127.0.0.1:9")
  local c = dt.database.import(os.getenv("EB_PHOTO_C"))
  local rc = eb.edit_images({ c })
  put("c_via", rc.via)
  put("c_edited", #rc.edited)
  if rc.failed[1] then put("c_reason", rc.failed[1].reason) end
end)
if not ok then put("error", tostring(err):gsub("\n", " ")) end
put("done", "yes")
report:close()
