--[[ How the plug-in hands our sidecar to darktable, on both API levels (fake_darktable.lua follows darktable's Lua
API manual): darktable 5.2+ (API 9.5) loads it in place with image:apply_sidecar; darktable 4.x (API 9.0) has no
such call, so the image is removed from the library and imported again, and what the user set on it is put back. ]]
local Fake = require "fake_darktable"

local OURS = '<x:xmpmeta><!-- ours: exposure-batch --></x:xmpmeta>\n'
local THEIRS = '<x:xmpmeta><!-- the user\'s own edit --></x:xmpmeta>\n'

local read = Fake.read_file

local function write(path, text)
  local fh = assert(io.open(path, "wb"))
  fh:write(text)
  fh:close()
end

local function photo_dir()
  local dir = os.tmpname()
  os.remove(dir)
  os.execute("mkdir -p '" .. dir .. "'")
  return dir
end

--- A plug-in loaded against a fake darktable at `api`, with the command line "making" our sidecar.
local function setup(api)
  local dt, state = Fake.install({ api = api })
  local eb = require "exposure_batch"
  eb.service_up = function() return false end
  eb.sidecar_from_cli = function(_, _, dest)
    write(dest, OURS)
    return true
  end
  return dt, state, eb
end

describe("darktable 5.2+ (Lua API 9.5)", function()
  it("loads our sidecar with image:apply_sidecar: same image, nothing removed or imported again", function()
    local dt, state, eb = setup("9.5.0")
    local dir = photo_dir()
    write(dir .. "/a.jpg", "jpeg bytes")
    write(dir .. "/a.jpg.xmp", THEIRS)
    local a = dt.database.import(dir .. "/a.jpg")
    a.rating = 4
    assert.is_true(eb.can_apply_sidecar(a))

    local r = eb.edit_images({ a })
    assert.are.equal("apply_sidecar", r.reload)
    assert.are.equal(1, #r.edited)
    assert.are.equal(a, r.edited[1])
    assert.are.equal(a.id, r.edited[1].id)
    assert.are.same({}, state.deletes)
    assert.are.equal(1, #state.imports) -- only the spec's own import
    assert.are.same({ { id = a.id, file = dir .. "/a.jpg.xmp", text = OURS } }, state.applied)
    assert.are.equal(OURS, state.history[a.id])
    assert.are.equal(4, a.rating)
    assert.are.equal(THEIRS, read(dir .. "/a.jpg.xmp.exposure-batch-undo"))

    local restored = eb.undo_last()
    assert.are.equal(1, #restored)
    assert.are.equal(a.id, restored[1].id)
    assert.are.equal(THEIRS, state.history[a.id]) -- the user's own edit, applied in place again
    assert.are.equal(2, #state.applied)
    assert.are.same({}, state.deletes)
    assert.is_nil(read(dir .. "/a.jpg.xmp.exposure-batch-undo"))
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("undo of an image that had no sidecar resets it", function()
    local dt, state, eb = setup("9.5.0")
    local dir = photo_dir()
    write(dir .. "/b.jpg", "jpeg bytes")
    local b = dt.database.import(dir .. "/b.jpg")
    local r = eb.edit_images({ b })
    assert.are.equal("apply_sidecar", r.reload)
    assert.are.equal(OURS, state.history[b.id])
    eb.undo_last()
    assert.is_nil(state.history[b.id])
    assert.are.same({ b.id }, state.resets)
    assert.is_nil(read(dir .. "/b.jpg.xmp"))
    assert.are.same({}, state.deletes)
    os.execute("rm -rf '" .. dir .. "'")
  end)
end)

describe("darktable 4.x (Lua API 9.0)", function()
  it("has no apply_sidecar: asking an image for it is an error, which the plug-in detects", function()
    local dt, _, eb = setup("9.0.0")
    local dir = photo_dir()
    write(dir .. "/a.jpg", "jpeg bytes")
    local a = dt.database.import(dir .. "/a.jpg")
    assert.is_false(pcall(function() return a.apply_sidecar end))
    assert.is_false(eb.can_apply_sidecar(a))
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("removes the image and imports it again; rating, labels, metadata, tags and group are put back", function()
    local dt, state, eb = setup("9.0.0")
    local dir = photo_dir()
    write(dir .. "/a.jpg", "jpeg bytes")
    write(dir .. "/d.jpg", "jpeg bytes")
    write(dir .. "/a.jpg.xmp", THEIRS)
    local a = dt.database.import(dir .. "/a.jpg")
    local d = dt.database.import(dir .. "/d.jpg")
    a.rating, a.red, a.title = 4, true, "harbour"
    dt.tags.attach(dt.tags.create("client|smith"), a)
    d:group_with(a)
    local old_id = a.id

    local r = eb.edit_images({ a })
    assert.are.equal("reimport", r.reload)
    local fresh = r.edited[1]
    assert.are.same({ old_id }, state.deletes)
    assert.are_not.equal(old_id, fresh.id)
    assert.are.equal(OURS, state.history[fresh.id]) -- darktable read our sidecar on import
    assert.are.same({}, state.applied)
    assert.are.equal(4, fresh.rating)
    assert.is_true(fresh.red)
    assert.are.equal("harbour", fresh.title)
    assert.are.equal("client|smith", dt.tags.get_tags(fresh)[1].name)
    assert.are.equal(2, #fresh:get_group_members())
    assert.are.equal(fresh.id, fresh.group_leader.id)

    local restored = eb.undo_last()
    assert.are.equal(1, #restored)
    assert.are.equal(THEIRS, state.history[restored[1].id])
    assert.are.equal(2, #state.deletes)
    os.execute("rm -rf '" .. dir .. "'")
  end)
end)
