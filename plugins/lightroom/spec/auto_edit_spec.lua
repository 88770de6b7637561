local FakeSdk = require "fake_sdk"

local TOKEN_FILE = "/fake/appData/exposure-batch/token"

local function result(ev)
  return { lightroom = { ProcessVersion = "11.0", Exposure2012 = ev, IncrementalTemperature = 7,
                         WhiteBalance = "Custom", ToneCurvePV2012 = { 0, 0, 128, 150, 255, 255 },
                         ToneCurveName2012 = "Custom" },
           history_name = "exposure-batch: Exposure, Tone curve" }
end

local function photos()
  return { FakeSdk.photo({ path = "/p/a.jpg", settings = { Exposure2012 = 0, IncrementalTemperature = 0,
                                                           ProcessVersion = "11.0" } }),
           FakeSdk.photo({ path = "/p/b.jpg", settings = { Exposure2012 = 0.3, IncrementalTemperature = 0 } }) }
end

local function health() return '{"status": "ok", "version": "0.1.0", "model": "auto", "workers": 1}' end

describe("AutoEdit", function()
  local Json = nil

  it("applies each finished photo inside withWriteAccessDo with a history step named after the recipe", function()
    local polls = 0
    local ps = photos()
    local state = FakeSdk.install({ photos = ps, files = { [TOKEN_FILE] = "secret-token-123456\n" }, http = {
      scripted = {
        ["GET /v1/health"] = health,
        ["POST /v1/jobs"] = function(_, body, headers)
          Json = require "Json"
          local req = Json.decode(body)
          assert.are.same({ "/p/a.jpg", "/p/b.jpg" }, req.paths)
          assert.are.equal("learned", req.agent)
          assert.are.equal("Bearer secret-token-123456", headers[1].value)
          return '{"id": "j1", "total": 2}', 202
        end,
        ["GET /v1/jobs/j1"] = function(url)
          polls = polls + 1
          if polls == 1 then
            assert.matches("after=0", url)
            return Json.encode({ state = "running", total = 2, finished = 1, seq = 1,
              items = { { index = 0, path = "/p/a.jpg", status = "done", seq = 1, result = result(-0.5) } } })
          end
          assert.matches("after=1", url)
          return Json.encode({ state = "done", total = 2, finished = 2, seq = 2,
            items = { { index = 1, path = "/p/b.jpg", status = "failed", seq = 2, reason = "b.jpg: cannot decode" } } })
        end,
      } } })
    local report = FakeSdk.runTask(require("AutoEdit").run)
    assert.are.equal(1, report.applied)
    assert.are.same({ "exposure-batch auto-edit" }, state.writes)
    local applied = ps[1].applied[1]
    assert.are.equal("exposure-batch: Exposure, Tone curve", applied.historyName)
    assert.are.same({ Exposure2012 = -0.5, IncrementalTemperature = 7, WhiteBalance = "Custom",
      ToneCurvePV2012 = { 0, 0, 128, 150, 255, 255 }, ToneCurveName2012 = "Custom" }, applied.settings)
    assert.are.equal(0, #ps[2].applied)
    assert.are.same({ 2, 2 }, state.scopes[1].portions[2])
    assert.is_true(state.scopes[1].finished)
    assert.are.equal(1, #state.dialogs)
    assert.are.equal("warning", state.dialogs[1].kind)
    assert.matches("1 of 2 photos could not be edited", state.dialogs[1].title)
    assert.matches("b.jpg: b.jpg: cannot decode", state.dialogs[1].message)
  end)

  it("says clearly when the service is down", function()
    local state = FakeSdk.install({ photos = photos(), files = { [TOKEN_FILE] = "secret-token-123456" },
      http = { scripted = {} } })
    assert.is_nil(FakeSdk.runTask(require("AutoEdit").run))
    assert.are.equal("exposure-batch service is not running", state.dialogs[1].title)
    assert.matches("exposure%-batch serve %-%-root", state.dialogs[1].message)
    assert.are.equal("critical", state.dialogs[1].kind)
  end)

  it("says clearly when the token file is missing or refused", function()
    local state = FakeSdk.install({ photos = photos(), http = { scripted = { ["GET /v1/health"] = health } } })
    FakeSdk.runTask(require("AutoEdit").run)
    assert.matches("token file .* not found", state.dialogs[1].message)

    state = FakeSdk.install({ photos = photos(), files = { [TOKEN_FILE] = "wrong-token-wrong" }, http = { scripted = {
      ["GET /v1/health"] = health,
      ["POST /v1/jobs"] = function() return '{"detail": "missing or wrong token"}', 401 end } } })
    local report = FakeSdk.runTask(require("AutoEdit").run)
    assert.are.equal("auth", report.error.kind)
    assert.matches("refused the token", state.dialogs[1].message)
  end)

  it("cancels the job when the progress bar is cancelled", function()
    local deleted = false
    local state = FakeSdk.install({ photos = photos(), files = { [TOKEN_FILE] = "secret-token-123456" },
      cancelAfterPolls = 1, http = { scripted = {
        ["GET /v1/health"] = health,
        ["POST /v1/jobs"] = function() return '{"id": "j2", "total": 2}', 202 end,
        ["GET /v1/jobs/j2"] = function() return '{"state": "running", "total": 2, "finished": 0, "seq": 0, "items": []}' end,
        ["DELETE /v1/jobs/j2"] = function() deleted = true return '{"state": "cancelled"}' end } } })
    local report = FakeSdk.runTask(require("AutoEdit").run)
    assert.is_true(deleted)
    assert.is_true(report.userCancelled)
    assert.matches("cancelled", state.bezels[1])
  end)

  it("uploads previews with the original's name and raw flag to a remote service", function()
    local ps = { FakeSdk.photo({ path = "/p/IMG_1.CR2", fileFormat = "RAW", settings = { Temperature = 5000 } }) }
    local sent
    local state = FakeSdk.install({ photos = ps, files = { [TOKEN_FILE] = "secret-token-123456" },
      prefs = { url = "http://studio-server:8765" },
      renderPreview = function() return true, "/tmp/prev/IMG_1.jpg" end,
      http = { scripted = {
        ["GET /v1/health"] = health,
        ["POST /v1/edit"] = function(_, content)
          sent = content
          return '{"lightroom": {"Temperature": 5600, "WhiteBalance": "Custom"}, "history_name": "exposure-batch: White balance"}'
        end } } })
    local report = FakeSdk.runTask(require("AutoEdit").run)
    assert.are.equal(1, report.applied)
    assert.are.equal("/tmp/prev/IMG_1.jpg", sent[1].filePath)
    local meta = require("Json").decode(sent[2].value)
    assert.are.same({ name = "IMG_1.CR2", raw = true, agent = "learned" }, meta)
    assert.are.equal(1024, state.exports[1].exportSettings.LR_size_maxWidth)
    assert.are.equal(5600, ps[1].settings.Temperature)
  end)

  it("asks for a selection first", function()
    local state = FakeSdk.install({ photos = {}, http = { scripted = {} } })
    FakeSdk.runTask(require("AutoEdit").run)
    assert.matches("Select the photos", state.dialogs[1].message)
  end)
end)
