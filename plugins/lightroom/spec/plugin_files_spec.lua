local FakeSdk = require "fake_sdk"

describe("plug-in files", function()
  it("Info.lua declares the SDK version, the Library menu item and the Plug-in Manager panel", function()
    local info = dofile("exposure-batch.lrplugin/Info.lua")
    assert.is_true(info.LrSdkVersion >= 6)
    assert.are.equal("Auto-edit selected photos", info.LrLibraryMenuItems[1].title)
    local menuFile = "exposure-batch.lrplugin/" .. info.LrLibraryMenuItems[1].file
    assert.is_not_nil(io.open(menuFile))
    assert.is_not_nil(io.open("exposure-batch.lrplugin/" .. info.LrPluginInfoProvider))
  end)

  it("the Plug-in Manager panel binds URL, token file, agent, profile and mode to the preferences", function()
    local state = FakeSdk.install({})
    local provider = dofile("exposure-batch.lrplugin/PluginInfoProvider.lua")
    local bound = {}
    local f = setmetatable({}, { __index = function(_, kind)
      return function(_, args)
        if type(args.value) == "table" and args.value.bind then bound[args.value.bind] = kind end
        return { kind = kind, args = args }
      end
    end })
    local sections = provider.sectionsForTopOfDialog(f, {})
    assert.are.equal(state.prefs, sections[1].bind_to_object)
    assert.are.same({ url = "edit_field", tokenFile = "edit_field", agent = "popup_menu", profile = "edit_field",
      mode = "popup_menu" }, bound)
    assert.are.equal("http://127.0.0.1:8765", state.prefs.url)
  end)
end)
