--[[ A small fake of the darktable Lua API, as documented in darktable's Lua API manual (types.dt_lua_image_t,
darktable.database, darktable.tags, darktable.preferences, darktable.control, darktable.gui), for busted specs of
exposure_batch.lua under plain Lua.

Two API levels: "9.0.0" (darktable 4.2 to 5.0: no image:apply_sidecar) and "9.5.0" (darktable 5.2+:
image:apply_sidecar(filename)). As in darktable, reading a member an image type does not have raises an error.
The library is a table of images; an image's "history" is the text of the sidecar darktable last read for it (on
import, or by apply_sidecar), so a spec can tell which sidecar darktable holds. ]]
local Fake = {}

--- A whole file's bytes, or nil when it cannot be opened (specs use it too).
function Fake.read_file(path)
  local fh = io.open(path, "rb")
  if not fh then return nil end
  local text = fh:read("*a")
  fh:close()
  return text
end
local read = Fake.read_file

local FIELDS = { id = true, path = true, filename = true, sidecar = true, duplicate_index = true, rating = true,
                 red = true, blue = true, green = true, yellow = true, purple = true, title = true, description = true,
                 creator = true, publisher = true, rights = true, is_altered = true, group_leader = true }
local WRITABLE = { rating = true, red = true, blue = true, green = true, yellow = true, purple = true, title = true,
                   description = true, creator = true, publisher = true, rights = true }

--- Installs a fresh fake as require("darktable") (and unloads exposure_batch); returns (darktable, state).
--- opts.api: "9.0.0" (default) or "9.5.0".
function Fake.install(opts)
  opts = opts or {}
  local api = opts.api or "9.0.0"
  local major, minor, patch = api:match("^(%d+)%.(%d+)%.(%d+)$")
  local state = { library = {}, next_id = 1, imports = {}, deletes = {}, applied = {}, resets = {}, prints = {},
                  prefs = {}, tags = {}, groups = {} }
  local dt = {}

  local methods = {}
  local function new_image(source)
    local data = { id = state.next_id, path = source:match("^(.*)/[^/]+$"), filename = source:match("([^/]+)$"),
                   duplicate_index = 0, rating = 1, red = false, blue = false, green = false, yellow = false,
                   purple = false, title = "", description = "", creator = "", publisher = "", rights = "" }
    data.sidecar = source .. ".xmp"
    state.next_id = state.next_id + 1
    local image = setmetatable({}, {
      __index = function(self, key)
        if key == "is_altered" then return state.history[rawget(self, "_id")] ~= nil end
        if key == "group_leader" then return state.library[state.groups[data.id] or data.id] end
        if FIELDS[key] then return data[key] end
        local m = methods[key]
        if m then return m end
        error(string.format('field "%s" not found for type dt_lua_image_t', tostring(key)), 2)
      end,
      __newindex = function(_, key, value)
        if not WRITABLE[key] then error(string.format('field "%s" is read-only or unknown', tostring(key)), 2) end
        data[key] = value
      end,
    })
    rawset(image, "_id", data.id)
    return image
  end
  state.history = {}

  function methods.delete(image)
    state.library[image.id] = nil
    state.deletes[#state.deletes + 1] = image.id
  end
  function methods.reset(image)
    state.history[image.id] = nil
    state.resets[#state.resets + 1] = image.id
  end
  function methods.get_group_members(image)
    local leader = state.groups[image.id] or image.id
    local members = {}
    for id, img in pairs(state.library) do
      if (state.groups[id] or id) == leader then members[#members + 1] = img end
    end
    return members
  end
  function methods.group_with(image, other)
    local leader = other and (state.groups[other.id] or other.id) or image.id
    state.groups[image.id] = leader
  end
  function methods.make_group_leader(image)
    local old = state.groups[image.id] or image.id
    for id, leader in pairs(state.groups) do
      if leader == old then state.groups[id] = image.id end
    end
    state.groups[old] = image.id
    state.groups[image.id] = image.id
  end
  if tonumber(major) > 9 or (tonumber(major) == 9 and tonumber(minor) >= 5) then
    --- dt_lua_image_t:apply_sidecar(filename): apply an XMP sidecar file to the image (Lua API 9.5.0).
    function methods.apply_sidecar(image, filename)
      assert(type(filename) == "string", "apply_sidecar needs the full path of a sidecar")
      local text = read(filename)
      assert(text, "apply_sidecar: cannot read " .. filename)
      state.applied[#state.applied + 1] = { id = image.id, file = filename, text = text }
      state.history[image.id] = text
    end
  end

  dt.configuration = { api_version_major = tonumber(major), api_version_minor = tonumber(minor),
                       api_version_patch = tonumber(patch), api_version_string = api }
  dt.database = {
    --- Imports a file (an image already in the library is returned as it is); reads IMG.EXT.xmp if there.
    import = function(source)
      for _, img in pairs(state.library) do
        if img.path .. "/" .. img.filename == source then return img end
      end
      local image = new_image(source)
      state.library[image.id] = image
      state.history[image.id] = read(source .. ".xmp")
      state.imports[#state.imports + 1] = source
      return image
    end,
  }
  dt.tags = {
    create = function(name) return { name = name } end,
    attach = function(tag, image)
      state.tags[image.id] = state.tags[image.id] or {}
      table.insert(state.tags[image.id], tag)
    end,
    get_tags = function(image) return state.tags[image.id] or {} end,
  }
  dt.preferences = {
    register = function(mod, key, _type, _label, _tooltip, default)
      if state.prefs[key] == nil then state.prefs[key] = default end
    end,
    read = function(_, key) return state.prefs[key] end,
    write = function(_, key, _type, value) state.prefs[key] = value end,
  }
  dt.control = {
    execute = function(cmd)
      local r = os.execute(cmd)
      if type(r) == "number" then return r end
      return r and 0 or 1
    end,
  }
  dt.gui = {
    action_images = {}, libs = {}, current_view = nil,
    create_job = function() return { valid = true, percent = 0 } end,
  }
  dt.new_widget = function() return function(t) return t end end
  dt.register_lib = function() end
  dt.register_event = function() end
  dt.destroy_event = function() end
  dt.print = function(msg) state.prints[#state.prints + 1] = msg end

  package.loaded["darktable"] = dt
  package.loaded["exposure_batch"] = nil
  return dt, state
end

return Fake
