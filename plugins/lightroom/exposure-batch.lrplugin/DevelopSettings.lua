--[[ Merging the service's develop settings with a photo's current ones.

The service sends absolute values (Lightroom's applyDevelopSettings replaces each key it is given, so nothing is
added to the current value: a Temperature of 5600 stays 5600). DevelopSettings.merge(current, ours) returns the
keys to apply (only those that change) and notes:
* ProcessVersion is only raised, never lowered (a photo on a newer process version keeps it);
* white balance keys that do not fit the photo (Kelvin `Temperature`/`Tint` on a rendered file, `Incremental*`
  on a raw one) are dropped with a note;
* an identity master curve sent only to accompany the RGB curves leaves the photo's own master curve alone;
* `ToneCurveName2012 = "Custom"` is only set when a curve is set. ]]
local DevelopSettings = {}

local CURVES = { "ToneCurvePV2012", "ToneCurvePV2012Red", "ToneCurvePV2012Green", "ToneCurvePV2012Blue" }

local function copy(v)
  if type(v) ~= "table" then return v end
  local t = {}
  for k, x in pairs(v) do t[k] = copy(x) end
  return t
end

local function same(a, b)
  if type(a) ~= type(b) then
    if type(a) == "number" and type(b) == "string" then return tonumber(b) == a end
    if type(b) == "number" and type(a) == "string" then return tonumber(a) == b end
    return false
  end
  if type(a) ~= "table" then
    if type(a) == "number" then return math.abs(a - b) < 1e-6 end
    return a == b
  end
  if #a ~= #b then return false end
  for i = 1, #a do
    if not same(a[i], b[i]) then return false end
  end
  return true
end

local function isIdentityCurve(points)
  return type(points) == "table" and #points == 4 and points[1] == 0 and points[2] == 0 and points[3] == 255
    and points[4] == 255
end

local function isRawPhoto(current)
  if current.Temperature ~= nil then return true end
  if current.IncrementalTemperature ~= nil then return false end
  return nil -- unknown: trust the service
end

function DevelopSettings.merge(current, ours)
  current = current or {}
  local want, notes = {}, {}
  for k, v in pairs(ours) do want[k] = copy(v) end

  local pv, currentPv = tonumber(want.ProcessVersion), tonumber(current.ProcessVersion)
  if pv and currentPv and currentPv >= pv then
    want.ProcessVersion = nil
  end

  local raw = isRawPhoto(current)
  if raw == false and (want.Temperature ~= nil or want.Tint ~= nil) then
    want.Temperature, want.Tint = nil, nil
    notes[#notes + 1] = "white balance skipped: Kelvin values sent for a rendered (non-raw) photo"
  elseif raw == true and (want.IncrementalTemperature ~= nil or want.IncrementalTint ~= nil) then
    want.IncrementalTemperature, want.IncrementalTint = nil, nil
    notes[#notes + 1] = "white balance skipped: incremental values sent for a raw photo"
  end
  if want.WhiteBalance ~= nil and want.Temperature == nil and want.IncrementalTemperature == nil
      and want.Tint == nil and want.IncrementalTint == nil then
    want.WhiteBalance = nil
  end

  if isIdentityCurve(want.ToneCurvePV2012) and (want.ToneCurvePV2012Red ~= nil) then
    want.ToneCurvePV2012 = nil
  end
  local anyCurve = false
  for _, key in ipairs(CURVES) do
    if want[key] ~= nil then anyCurve = true end
  end
  if not anyCurve then want.ToneCurveName2012 = nil end

  local apply, changed = {}, 0
  for k, v in pairs(want) do
    if not same(current[k], v) then
      apply[k] = v
      changed = changed + 1
    end
  end
  if anyCurve and (apply.ToneCurvePV2012 or apply.ToneCurvePV2012Red or apply.ToneCurvePV2012Green
      or apply.ToneCurvePV2012Blue) then
    apply.ToneCurveName2012 = "Custom"
  elseif apply.ToneCurveName2012 ~= nil then
    apply.ToneCurveName2012 = nil
    changed = changed - 1
  end
  return apply, notes, changed
end

return DevelopSettings
