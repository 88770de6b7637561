--[[ exposure-batch for darktable (4.2+, Lua API 9): auto-edit the selected images with the Exposure agent.

Lighttable module "exposure-batch" (right panel) with "auto-edit selected" and "undo last auto-edit", plus the
shortcut "exposure-batch: auto-edit selected images" (assign it in preferences > shortcuts > lua).

For each selected image:
  1. its darktable sidecar is asked from `exposure-batch serve` (curl; POST /v1/edit?output=darktable_xmp), or, when
     no service answers, made by the command line (`exposure-batch process --sidecar darktable`);
  2. the image's current sidecar is kept as IMG.EXT.xmp.exposure-batch-undo, ours is written as IMG.EXT.xmp;
  3. darktable loads the sidecar into the image: darktable 5.2+ (Lua API 9.5) with image:apply_sidecar, which
     keeps the image, its id and everything attached to it; darktable 4.x has no such call (detected by asking the
     image for the method), so there the image is removed from the library and imported again (darktable reads
     IMG.EXT.xmp on import) and its rating, colour labels, title, description, creator, publisher, rights, tags
     and group are restored.
All images of one run form one group of changes: "undo last auto-edit" restores every one of them from its kept
sidecar the same way. Linux and macOS (needs curl for the service; the exposure-batch command for the fallback).

Install: copy this file to ~/.config/darktable/lua/ and add `require "exposure_batch"` to ~/.config/darktable/luarc.
Settings (preferences > lua options): service URL, token file, agent, command line program. ]]
local dt = require "darktable"

local M = {}
M.NAME = "exposure_batch"
M.UNDO_SUFFIX = ".exposure-batch-undo"

dt.preferences.register(M.NAME, "url", "string", "exposure-batch: service URL",
  "URL of `exposure-batch serve`", "http://127.0.0.1:8765")
dt.preferences.register(M.NAME, "token_file", "string", "exposure-batch: token file",
  "file holding the service's token (empty: ~/.config/exposure-batch/token)", "")
dt.preferences.register(M.NAME, "agent", "enum", "exposure-batch: agent",
  "who decides the edit", "learned", "learned", "classic")
dt.preferences.register(M.NAME, "cli", "string", "exposure-batch: command",
  "the exposure-batch program, used when no service answers", "exposure-batch")

-- helpers ---------------------------------------------------------------------------------------------------
local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function json_string(s)
  return '"' .. tostring(s):gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' elseif c == "\\" then return "\\\\" end
    return string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function read_file(path)
  local fh = io.open(path, "rb")
  if not fh then return nil end
  local text = fh:read("*a")
  fh:close()
  return text
end

local function write_file(path, text)
  local tmp = path .. ".part"
  local fh, err = io.open(tmp, "wb")
  if not fh then return nil, err end
  fh:write(text)
  fh:close()
  local ok, rerr = os.rename(tmp, path)
  if not ok then os.remove(tmp) return nil, rerr end
  return true
end

local function copy_file(src, dst)
  local text = read_file(src)
  if text == nil then return false end
  return write_file(dst, text)
end

local function temp_dir()
  local base = os.getenv("TMPDIR") or "/tmp"
  local dir = string.format("%s/exposure-batch-dt-%d-%d", base, os.time(), math.random(1, 1e9))
  dt.control.execute("umask 077 && mkdir -p " .. quote(dir))
  return dir
end

local function settings()
  local token_file = dt.preferences.read(M.NAME, "token_file", "string")
  if token_file == "" then
    token_file = (os.getenv("XDG_CONFIG_HOME") or (os.getenv("HOME") .. "/.config")) .. "/exposure-batch/token"
  end
  local url = dt.preferences.read(M.NAME, "url", "string"):gsub("/+$", "")
  return { url = url, token_file = token_file, agent = dt.preferences.read(M.NAME, "agent", "enum"),
           cli = dt.preferences.read(M.NAME, "cli", "string") }
end

-- getting our sidecar ----------------------------------------------------------------------------------------
function M.service_up(cfg)
  return dt.control.execute("curl -sf -m 10 -o /dev/null " .. quote(cfg.url .. "/v1/health")) == 0
end

--- Asks the service for the sidecar of `source`; writes it to `dest`. Returns true or nil, reason.
function M.sidecar_from_service(cfg, source, dest, work)
  local body, out, code = work .. "/body.json", work .. "/answer", work .. "/code"
  write_file(body, "{" .. json_string("path") .. ":" .. json_string(source) .. "," .. json_string("agent") .. ":"
    .. json_string(cfg.agent) .. "}")
  -- the token goes to curl on stdin (-H @-), never on a command line other users can read
  local cmd = "printf 'Authorization: Bearer %s\\n' \"$(head -n 1 " .. quote(cfg.token_file) .. ")\" | "
    .. "curl -sS -m 600 -H @- -H 'Content-Type: application/json' --data-binary @" .. quote(body)
    .. " -o " .. quote(out) .. " -w '%{http_code}' " .. quote(cfg.url .. "/v1/edit?output=darktable_xmp")
    .. " > " .. quote(code)
  dt.control.execute(cmd)
  local status = tonumber(read_file(code) or "")
  local answer = read_file(out) or ""
  if status ~= 200 then
    local detail = answer:match('"detail"%s*:%s*"(.-)"') or ("HTTP " .. tostring(status))
    return nil, detail
  end
  return write_file(dest, answer)
end

--- No service: the command line writes the sidecar (it renders a small output image too, in a temp folder).
function M.sidecar_from_cli(cfg, source, dest, work)
  local log = work .. "/cli.log"
  local cmd = quote(cfg.cli) .. " process " .. quote(source) .. " -o " .. quote(work) .. " --sidecar darktable"
    .. " --agent " .. quote(cfg.agent) .. " --format jpeg --quality 50 --overwrite > " .. quote(log) .. " 2>&1"
  local rc = dt.control.execute(cmd)
  local made = work .. "/" .. source:match("([^/]+)$") .. ".xmp"
  local text = read_file(made)
  if rc ~= 0 or text == nil then
    local last = (read_file(log) or ""):match("([^\n]+)\n?$") or ("exit status " .. tostring(rc))
    return nil, "exposure-batch command failed: " .. last
  end
  os.remove(made)
  return write_file(dest, text)
end

-- reloading a sidecar into the library -----------------------------------------------------------------------
local KEPT = { "rating", "red", "blue", "green", "yellow", "purple", "title", "description", "creator", "publisher",
               "rights" }

local function remember(image)
  local kept = { fields = {}, tags = {}, others = {}, leader = false }
  for _, k in ipairs(KEPT) do kept.fields[k] = image[k] end
  for _, tag in ipairs(dt.tags.get_tags(image)) do
    if not tag.name:match("^darktable|") then kept.tags[#kept.tags + 1] = tag end
  end
  for _, member in ipairs(image:get_group_members()) do
    if member.id ~= image.id then kept.others[#kept.others + 1] = member end
  end
  kept.leader = #kept.others > 0 and image.group_leader.id == image.id
  return kept
end

--- Puts the fields, tags and group (as member, or again as its leader) back on the re-imported image.
local function restore(image, kept)
  for k, v in pairs(kept.fields) do
    pcall(function() image[k] = v end)
  end
  for _, tag in ipairs(kept.tags) do pcall(dt.tags.attach, tag, image) end
  if #kept.others > 0 then
    pcall(function()
      image:group_with(kept.others[1])
      if kept.leader then image:make_group_leader() end
    end)
  end
end

--- True when this darktable can load a sidecar into an image in place: image:apply_sidecar (Lua API 9.5,
--- darktable 5.2+). Detected on the image itself: darktable raises an error for a member its API lacks.
function M.can_apply_sidecar(image)
  local ok, method = pcall(function() return image.apply_sidecar end)
  return ok and type(method) == "function"
end

--- Loads the image's sidecar (IMG.EXT.xmp, already written) into darktable. Returns the image object (a new one
--- on 4.x) and how: "apply_sidecar" (5.2+: same image, in place) or "reimport" (4.x: removed from the library and
--- imported again, which reads IMG.EXT.xmp; fields, tags and group are put back).
function M.reload(image)
  if M.can_apply_sidecar(image) then
    image:apply_sidecar(image.sidecar)
    return image, "apply_sidecar"
  end
  local source = image.path .. "/" .. image.filename
  local kept = remember(image)
  image:delete()
  local fresh = dt.database.import(source)
  restore(fresh, kept)
  return fresh, "reimport"
end

-- the actions --------------------------------------------------------------------------------------------------
M.last_run = {}

--- Auto-edits `images`; returns { edited = {images}, failed = {{name, reason}}, via = "service" | "cli",
--- reload = "apply_sidecar" | "reimport" (how darktable took the sidecars in; nil when none was edited) }.
function M.edit_images(images)
  local cfg = settings()
  local report = { edited = {}, failed = {}, via = M.service_up(cfg) and "service" or "cli" }
  if #images == 0 then
    dt.print("exposure-batch: select images first")
    return report
  end
  local job = dt.gui.create_job("exposure-batch: auto-edit", true)
  local work = temp_dir()
  local run = {}
  for i, image in ipairs(images) do
    if job.valid == false then break end
    local source = image.path .. "/" .. image.filename
    local sidecar = image.sidecar
    local ours = work .. "/ours.xmp"
    local ok, why
    if image.duplicate_index ~= 0 then
      ok, why = nil, "duplicates are not supported (edit the original)"
    elseif report.via == "service" then
      ok, why = M.sidecar_from_service(cfg, source, ours, work)
    else
      ok, why = M.sidecar_from_cli(cfg, source, ours, work)
    end
    if ok then
      local had = copy_file(sidecar, sidecar .. M.UNDO_SUFFIX)
      ok, why = copy_file(ours, sidecar)
      if ok then
        local fresh, how = M.reload(image)
        report.edited[#report.edited + 1] = fresh
        report.reload = how
        run[#run + 1] = { source = source, sidecar = sidecar, had_sidecar = had and true or false }
      end
    end
    if not ok then
      report.failed[#report.failed + 1] = { name = image.filename, reason = tostring(why) }
    end
    job.percent = i / #images
  end
  job.valid = false
  dt.control.execute("rm -rf " .. quote(work))
  if #run > 0 then M.last_run = run end
  local msg = string.format("exposure-batch: %d of %d images edited", #report.edited, #images)
  if #report.failed > 0 then
    msg = msg .. "; failed: " .. report.failed[1].name .. ": " .. report.failed[1].reason
      .. (#report.failed > 1 and string.format(" (and %d more)", #report.failed - 1) or "")
  end
  dt.print(msg)
  return report
end

--- Puts back every image of the last run as it was before. Returns the images restored.
function M.undo_last()
  local restored = {}
  for _, entry in ipairs(M.last_run) do
    local backup = entry.sidecar .. M.UNDO_SUFFIX
    local image = dt.database.import(entry.source) -- already in the library: returns it
    if entry.had_sidecar and copy_file(backup, entry.sidecar) then
      os.remove(backup)
      restored[#restored + 1] = (M.reload(image))
    elseif not entry.had_sidecar then
      os.remove(entry.sidecar)
      image:reset()
      restored[#restored + 1] = image
    end
  end
  M.last_run = {}
  dt.print(string.format("exposure-batch: %d images restored", #restored))
  return restored
end

-- user interface ---------------------------------------------------------------------------------------------
local function selected()
  local images = {}
  for _, image in ipairs(dt.gui.action_images) do images[#images + 1] = image end
  return images
end

M.edit_button = dt.new_widget("button") {
  label = "auto-edit selected",
  tooltip = "edit the selected images with exposure-batch (service, or the command line when it is not running)",
  clicked_callback = function() M.edit_images(selected()) end,
}
M.undo_button = dt.new_widget("button") {
  label = "undo last auto-edit",
  tooltip = "put back the images of the last auto-edit as they were",
  clicked_callback = function() M.undo_last() end,
}

if dt.gui.current_view ~= nil then
  dt.register_lib(M.NAME, "exposure-batch", true, false,
    { [dt.gui.views.lighttable] = { "DT_UI_CONTAINER_PANEL_RIGHT_CENTER", 100 } },
    dt.new_widget("box") { orientation = "vertical", M.edit_button, M.undo_button })
end

dt.register_event(M.NAME .. "_edit", "shortcut", function() M.edit_images(selected()) end,
  "exposure-batch: auto-edit selected images")

function M.destroy()
  dt.destroy_event(M.NAME .. "_edit", "shortcut")
  dt.gui.libs[M.NAME].visible = false
end

return M
