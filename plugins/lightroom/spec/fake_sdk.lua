--[[ A small fake of the Lightroom Classic SDK modules the plug-in imports, for busted and the end-to-end test.

FakeSdk.install{ photos = {...}, http = <LrHttp implementation>, prefs = {...}, files = {path = text} } sets the
global `import` (as Lightroom does) and returns the state the fakes record into: dialogs, bezels, writes (catalog
write-access calls), scopes, requests. Photos: FakeSdk.photo{ path=, fileFormat=, settings={...} } records every
applyDevelopSettings call and refuses one made outside catalog:withWriteAccessDo, as Lightroom does. ]]
local FakeSdk = {}

--- Runs fn as Lightroom runs an async task: in a coroutine, driven until it ends. Fake LrHttp calls and
--- LrTasks.sleep yield inside it (as Lightroom's do), so a plain pcall around them fails here as it would in
--- Lightroom ("attempt to yield across metamethod/C-call boundary"); LrTasks.pcall is yield-safe.
function FakeSdk.runTask(fn, ...)
  local co = coroutine.create(fn)
  local results = { coroutine.resume(co, ...) }
  while coroutine.status(co) ~= "dead" do
    results = { coroutine.resume(co) }
  end
  if not results[1] then error(results[2], 0) end
  return unpack(results, 2)
end

--- Yields when running inside a task (what a real LrHttp call or LrTasks.sleep does).
function FakeSdk.yield()
  if coroutine.running() then coroutine.yield() end
end

--- A pcall that lets fn yield (like LrTasks.pcall / coxpcall): fn runs in its own coroutine, its yields are
--- passed up to the enclosing task.
local function yieldingPcall(fn, ...)
  local co = coroutine.create(fn)
  local results = { coroutine.resume(co, ...) }
  while true do
    if not results[1] then return false, results[2] end
    if coroutine.status(co) == "dead" then return true, unpack(results, 2) end
    coroutine.yield()
    results = { coroutine.resume(co) }
  end
end

local PLUGIN_MODULES = { "Json", "ServiceClient", "DevelopSettings", "AutoEdit", "Settings", "PluginInfoProvider" }

local function copy(v)
  if type(v) ~= "table" then return v end
  local t = {}
  for k, x in pairs(v) do t[k] = copy(x) end
  return t
end

function FakeSdk.photo(opts)
  local photo = { path = opts.path, fileFormat = opts.fileFormat or "JPG", settings = copy(opts.settings or {}),
                  applied = {}, catalog = nil }
  function photo:getRawMetadata(key)
    if key == "path" then return self.path end
    if key == "fileFormat" then return self.fileFormat end
    return nil
  end
  function photo:getDevelopSettings() return copy(self.settings) end
  function photo:applyDevelopSettings(settings, historyName)
    assert(self.catalog and self.catalog.inWrite, "applyDevelopSettings called outside withWriteAccessDo")
    self.applied[#self.applied + 1] = { settings = copy(settings), historyName = historyName }
    for k, v in pairs(settings) do self.settings[k] = copy(v) end
  end
  return photo
end

function FakeSdk.catalog(photos, state)
  local catalog = { photos = photos, inWrite = false }
  for _, p in ipairs(photos) do p.catalog = catalog end
  function catalog:getTargetPhotos() return self.photos end
  function catalog:withWriteAccessDo(name, fn, _timeout)
    assert(not self.inWrite, "nested withWriteAccessDo")
    state.writes[#state.writes + 1] = name
    self.inWrite = true
    local ok, err = pcall(fn)
    self.inWrite = false
    if not ok then error(err, 0) end
  end
  return catalog
end

--- LrHttp fake answering from a table of handlers: handlers[METHOD .. " " .. path-without-query](url, body,
--- headers) -> body, status.
function FakeSdk.scriptedHttp(state, handlers)
  local function call(method, url, body, headers)
    FakeSdk.yield()
    local path = url:match("^%a+://[^/]+(/[^?]*)")
    state.requests[#state.requests + 1] = { method = method, url = url, body = body, headers = headers }
    local handler = handlers[method .. " " .. path]
    if handler == nil then
      for pattern, h in pairs(handlers) do
        if (method .. " " .. path):match("^" .. pattern .. "$") then handler = h end
      end
    end
    if handler == nil then return nil, { error = { errorCode = "cannotConnectToHost", name = "connection refused" } } end
    local rbody, status = handler(url, body, headers)
    if rbody == nil then return nil, { error = { errorCode = "cannotConnectToHost", name = "connection refused" } } end
    return rbody, { status = status or 200 }
  end
  return {
    get = function(url, headers, _timeout) return call("GET", url, nil, headers) end,
    post = function(url, body, headers, method, _timeout) return call(method or "POST", url, body, headers) end,
    postMultipart = function(url, content, headers, _timeout) return call("POST", url, content, headers) end,
  }
end

function FakeSdk.install(opts)
  local state = { dialogs = {}, bezels = {}, writes = {}, scopes = {}, requests = {}, exports = {} }
  local photos = opts.photos or {}
  local catalog = FakeSdk.catalog(photos, state)
  state.catalog = catalog
  local prefs = copy(opts.prefs or {})
  local files = opts.files or {}
  local http = opts.http or { scripted = {} }
  if type(http) == "table" and http.scripted then http = FakeSdk.scriptedHttp(state, http.scripted) end

  local modules = {}
  modules.LrHttp = http
  modules.LrTasks = {
    startAsyncTask = function(fn) FakeSdk.runTask(fn) end,
    sleep = function(s)
      if opts.sleep then opts.sleep(s) end
      FakeSdk.yield()
    end,
    pcall = yieldingPcall,
  }
  modules.LrDialogs = {
    message = function(title, message, kind)
      state.dialogs[#state.dialogs + 1] = { title = title, message = message, kind = kind }
    end,
    showBezel = function(message) state.bezels[#state.bezels + 1] = message end,
  }
  modules.LrProgressScope = function(args)
    local scope = { title = args.title, portions = {}, captions = {}, canceled = false, finished = false,
                    cancelAfter = opts.cancelAfterPolls }
    function scope:isCanceled()
      if self.cancelAfter then
        self.cancelAfter = self.cancelAfter - 1
        if self.cancelAfter < 0 then self.canceled = true end
      end
      return self.canceled
    end
    function scope:setPortionComplete(done, total) self.portions[#self.portions + 1] = { done, total } end
    function scope:setCaption(text) self.captions[#self.captions + 1] = text end
    function scope:done() self.finished = true end
    state.scopes[#state.scopes + 1] = scope
    return scope
  end
  modules.LrApplication = { activeCatalog = function() return catalog end }
  modules.LrPrefs = { prefsForPlugin = function() return prefs end }
  modules.LrFileUtils = {
    exists = function(path)
      if files[path] then return "file" end
      local fh = io.open(path, "rb")
      if fh then fh:close() return "file" end
      return false
    end,
    readFile = function(path)
      if files[path] then return files[path] end
      local fh = io.open(path, "rb")
      if not fh then return nil end
      local text = fh:read("*a")
      fh:close()
      return text
    end,
    createAllDirectories = function(_path) return true end,
    delete = function(path) state.deleted = (state.deleted or 0) + 1 return true end,
  }
  modules.LrPathUtils = {
    child = function(a, b) return a .. "/" .. b end,
    leafName = function(path) return (path:match("([^/\\]+)$")) or path end,
    getStandardFilePath = function(kind) return (opts.standardPaths or {})[kind] or ("/fake/" .. kind) end,
  }
  modules.LrExportSession = function(args)
    state.exports[#state.exports + 1] = args
    local session = {}
    function session:renditions()
      local i = 0
      return function()
        i = i + 1
        local photo = args.photosToExport[i]
        if not photo then return nil end
        local rendition = { photo = photo }
        function rendition:waitForRender()
          if opts.renderPreview then return opts.renderPreview(photo, args.exportSettings) end
          return true, photo.path
        end
        return i, rendition
      end
    end
    return session
  end
  modules.LrView = { bind = function(key) return { bind = key } end, share = function(key) return key end }

  _G.import = function(name)
    local m = modules[name]
    if m == nil then error("fake SDK has no module " .. name, 2) end
    return m
  end
  for _, name in ipairs(PLUGIN_MODULES) do package.loaded[name] = nil end
  state.prefs = prefs
  return state
end

return FakeSdk
