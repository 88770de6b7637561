--[[ "Auto-edit selected photos": send the photos to exposure-batch serve, apply each result as it comes.

Local service (URL on this machine): one job with the photos' paths, polled with a progress bar; each batch of
finished photos is applied in one catalog write (`catalog:withWriteAccessDo`), each photo with
`photo:applyDevelopSettings(settings, historyName)` so its history gets one step named after the recipe.
Remote service: Lightroom renders a JPEG preview of each photo, which is uploaded with the original's name and
raw flag. Cancel in the progress bar cancels the job. Problems end in a dialog that names each failed photo. ]]
local LrApplication = import "LrApplication"
local LrDialogs = import "LrDialogs"
local LrFileUtils = import "LrFileUtils"
local LrPathUtils = import "LrPathUtils"
local LrProgressScope = import "LrProgressScope"
local LrTasks = import "LrTasks"

local DevelopSettings = require "DevelopSettings"
local ServiceClient = require "ServiceClient"
local Settings = require "Settings"

local AutoEdit = {}

AutoEdit.POLL_S = 0.5
AutoEdit.WRITE_NAME = "exposure-batch auto-edit"
local MAX_LISTED = 10

local function leaf(path)
  return LrPathUtils.leafName(path or "?")
end

--- Opens a client from the plug-in settings; nil and a dialog when the service cannot be used.
function AutoEdit.connect(settings)
  local token, terr = ServiceClient.readToken(settings.tokenFile)
  if not token then
    LrDialogs.message("exposure-batch: no token", terr .. ".", "critical")
    return nil
  end
  local client = ServiceClient.new({ url = settings.url, token = token, agent = settings.agent,
    profile = settings.profile })
  local health, herr = client:health()
  if not health then
    LrDialogs.message("exposure-batch service is not running",
      herr.message .. ".\n\nStart it with:\n    exposure-batch serve --root FOLDER-WITH-YOUR-PHOTOS\n"
      .. "or check the service URL in File > Plug-in Manager > exposure-batch.", "critical")
    return nil
  end
  return client, health
end

--- Applies finished items ({index, status, result|reason}) to photos[index + 1] in one catalog write.
function AutoEdit.applyItems(catalog, photos, items, report)
  local todo = {}
  for _, item in ipairs(items) do
    local photo = photos[item.index + 1]
    if item.status == "done" and photo then
      todo[#todo + 1] = { photo = photo, result = item.result }
    elseif item.status == "failed" then
      report.failed[#report.failed + 1] = { name = leaf(item.path), reason = item.reason or "failed" }
    elseif item.status == "cancelled" then
      report.cancelled = report.cancelled + 1
    end
  end
  if #todo == 0 then return end
  catalog:withWriteAccessDo(AutoEdit.WRITE_NAME, function()
    for _, t in ipairs(todo) do
      local ok, err = LrTasks.pcall(function()
        local apply, notes = DevelopSettings.merge(t.photo:getDevelopSettings(), t.result.lightroom)
        t.photo:applyDevelopSettings(apply, t.result.history_name)
        for _, n in ipairs(notes) do report.notes[#report.notes + 1] = n end
      end)
      if ok then
        report.applied = report.applied + 1
      else
        report.failed[#report.failed + 1] = { name = leaf(t.photo:getRawMetadata("path")),
          reason = "Lightroom refused the settings: " .. tostring(err) }
      end
    end
  end, { timeout = 60 })
end

--- Local service: one job, polled until it ends or the user cancels.
function AutoEdit.runJob(client, catalog, photos, scope, report)
  local paths = {}
  for i, photo in ipairs(photos) do paths[i] = photo:getRawMetadata("path") end
  local jobId, err = client:submitJob(paths)
  if not jobId then
    report.error = err
    return
  end
  local after = 0
  while true do
    if scope:isCanceled() then
      client:cancel(jobId)
      report.userCancelled = true
      return
    end
    local view, perr = client:poll(jobId, after)
    if not view then
      report.error = perr
      return
    end
    AutoEdit.applyItems(catalog, photos, view.items or {}, report)
    after = view.seq or after
    scope:setPortionComplete(view.finished or 0, view.total or #photos)
    scope:setCaption(string.format("%d of %d photos", view.finished or 0, view.total or #photos))
    if view.state ~= "running" then return end
    LrTasks.sleep(AutoEdit.POLL_S)
  end
end

--- Remote service: render a preview of each photo, upload it, apply the answer.
function AutoEdit.runUploads(client, catalog, photos, scope, report, settings)
  local LrExportSession = import "LrExportSession"
  local folder = LrPathUtils.child(LrPathUtils.getStandardFilePath("temp"), "exposure-batch-previews")
  LrFileUtils.createAllDirectories(folder)
  local session = LrExportSession({
    photosToExport = photos,
    exportSettings = {
      LR_format = "JPEG", LR_jpeg_quality = 0.9, LR_export_colorSpace = "sRGB",
      LR_size_doConstrain = true, LR_size_resizeType = "longEdge", LR_size_maxHeight = settings.previewSize,
      LR_size_maxWidth = settings.previewSize, LR_size_units = "pixels",
      LR_export_destinationType = "specificFolder", LR_export_destinationPathPrefix = folder,
      LR_export_useSubfolder = false, LR_collisionHandling = "rename", LR_minimizeEmbeddedMetadata = true,
    },
  })
  local index = {}
  for i, photo in ipairs(photos) do index[photo] = i end
  local done = 0
  for _, rendition in session:renditions() do
    if scope:isCanceled() then
      report.userCancelled = true
      break
    end
    local photo = rendition.photo
    local original = photo:getRawMetadata("path")
    local ok, pathOrMessage = rendition:waitForRender()
    local item
    if not ok then
      item = { index = index[photo] - 1, status = "failed", path = original,
               reason = "Lightroom could not render a preview: " .. tostring(pathOrMessage) }
    else
      local format = photo:getRawMetadata("fileFormat")
      local result, err = client:editUpload(pathOrMessage, leaf(original), format == "RAW" or format == "DNG")
      LrFileUtils.delete(pathOrMessage)
      if result then
        item = { index = index[photo] - 1, status = "done", path = original, result = result }
      elseif err.kind == "photo" then
        item = { index = index[photo] - 1, status = "failed", path = original, reason = err.message }
      else
        report.error = err
        break
      end
    end
    AutoEdit.applyItems(catalog, photos, { item }, report)
    done = done + 1
    scope:setPortionComplete(done, #photos)
    scope:setCaption(string.format("%d of %d photos", done, #photos))
  end
end

--- The closing dialog (nothing when every photo was edited).
function AutoEdit.summarize(report, total)
  if report.error then
    local title = report.error.kind == "down" and "exposure-batch service stopped answering"
      or "exposure-batch could not finish"
    LrDialogs.message(title, report.error.message .. string.format("\n\n%d of %d photos were edited.",
      report.applied, total), "critical")
    return
  end
  if #report.failed > 0 then
    local lines = {}
    for i, f in ipairs(report.failed) do
      if i > MAX_LISTED then
        lines[#lines + 1] = string.format("... and %d more", #report.failed - MAX_LISTED)
        break
      end
      lines[#lines + 1] = f.name .. ": " .. f.reason
    end
    LrDialogs.message(string.format("exposure-batch: %d of %d photos could not be edited", #report.failed, total),
      table.concat(lines, "\n"), "warning")
  elseif report.userCancelled then
    LrDialogs.showBezel(string.format("exposure-batch: cancelled, %d photos edited", report.applied))
  else
    LrDialogs.showBezel(string.format("exposure-batch: %d photos edited", report.applied))
  end
end

--- Entry point (runs inside an async task). Returns the report for tests.
function AutoEdit.run()
  local catalog = LrApplication.activeCatalog()
  local photos = catalog:getTargetPhotos()
  if #photos == 0 then
    LrDialogs.message("exposure-batch", "Select the photos to edit first.", "info")
    return nil
  end
  local settings = Settings.current()
  local client = AutoEdit.connect(settings)
  if not client then return nil end
  local report = { applied = 0, failed = {}, cancelled = 0, notes = {} }
  local scope = LrProgressScope({ title = string.format("exposure-batch: editing %d photos", #photos) })
  local useUploads = settings.mode == "previews" or (settings.mode == "auto" and not client:isLocal())
  -- LrTasks.pcall, not pcall: LrHttp and LrTasks.sleep yield, and Lua 5.1 cannot yield across a plain pcall
  local ok, err = LrTasks.pcall(function()
    if useUploads then
      AutoEdit.runUploads(client, catalog, photos, scope, report, settings)
    else
      AutoEdit.runJob(client, catalog, photos, scope, report)
    end
  end)
  scope:done()
  if not ok then
    report.error = { kind = "plugin", message = "internal error in the plug-in: " .. tostring(err) }
  end
  AutoEdit.summarize(report, #photos)
  return report
end

return AutoEdit
