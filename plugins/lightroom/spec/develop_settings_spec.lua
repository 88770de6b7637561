local FakeSdk = require "fake_sdk"

describe("DevelopSettings.merge", function()
  local DS
  before_each(function()
    FakeSdk.install({})
    DS = require "DevelopSettings"
  end)

  it("replaces values absolutely: a raw photo at 5500 K asked for 5600 K gets 5600 K, not 11100 K", function()
    local apply = DS.merge({ Temperature = 5500, Tint = 10, Exposure2012 = 0.5, ProcessVersion = "6.7" },
      { Temperature = 5600, Tint = -4, Exposure2012 = -1.25, WhiteBalance = "Custom", ProcessVersion = "11.0" })
    assert.are.same({ Temperature = 5600, Tint = -4, Exposure2012 = -1.25, WhiteBalance = "Custom",
      ProcessVersion = "11.0" }, apply)
  end)

  it("never lowers the process version", function()
    local apply = DS.merge({ ProcessVersion = "15.4", Exposure2012 = 0 }, { ProcessVersion = "11.0", Exposure2012 = 1 })
    assert.is_nil(apply.ProcessVersion)
    assert.are.equal(1, apply.Exposure2012)
  end)

  it("drops white balance keys that do not fit the photo, with a note", function()
    local apply, notes = DS.merge({ IncrementalTemperature = 0, IncrementalTint = 0 },
      { Temperature = 6000, Tint = 3, WhiteBalance = "Custom" })
    assert.is_nil(apply.Temperature)
    assert.is_nil(apply.WhiteBalance)
    assert.matches("non%-raw", notes[1])
    local apply2 = DS.merge({ Temperature = 5000, Tint = 0 }, { IncrementalTemperature = 12, WhiteBalance = "Custom" })
    assert.is_nil(apply2.IncrementalTemperature)
  end)

  it("keeps the photo's master curve when only RGB curves come with an identity master", function()
    local mine = { 0, 10, 128, 140, 255, 250 }
    local apply = DS.merge({ ToneCurvePV2012 = mine, ToneCurveName2012 = "Custom" },
      { ToneCurvePV2012 = { 0, 0, 255, 255 }, ToneCurvePV2012Red = { 0, 5, 255, 250 }, ToneCurveName2012 = "Custom" })
    assert.is_nil(apply.ToneCurvePV2012)
    assert.are.same({ 0, 5, 255, 250 }, apply.ToneCurvePV2012Red)
    assert.are.equal("Custom", apply.ToneCurveName2012)
  end)

  it("applies only what changes", function()
    local apply, _, changed = DS.merge({ Exposure2012 = 1, Saturation = 5, ProcessVersion = "11.0" },
      { Exposure2012 = 1.0, Saturation = 8, ProcessVersion = "11.0" })
    assert.are.same({ Saturation = 8 }, apply)
    assert.are.equal(1, changed)
  end)
end)
