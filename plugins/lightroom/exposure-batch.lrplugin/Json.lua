--[[ Minimal JSON for the service's messages (Lightroom's Lua 5.1 has none built in).

Json.encode(value) -> string: tables with keys 1..n become arrays, other tables objects (keys sorted, so the
output is stable); Json.null is null. Json.decode(text) -> value, or nil and an error message; JSON null decodes
to Json.null. Numbers are Lua numbers; strings are UTF-8 (\uXXXX escapes, surrogate pairs included). ]]
local Json = {}

Json.null = setmetatable({}, { __tostring = function() return "null" end })

local escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n",
                  ["\r"] = "\\r", ["\t"] = "\\t" }

local function encodeString(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function isArray(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  for i = 1, n do
    if t[i] == nil then return false end
  end
  return n > 0, n
end

local function encodeValue(v, out)
  local kind = type(v)
  if v == Json.null or v == nil then
    out[#out + 1] = "null"
  elseif kind == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif kind == "number" then
    if v ~= v or v == math.huge or v == -math.huge then
      error("cannot encode " .. tostring(v) .. " in JSON")
    end
    if v == math.floor(v) and math.abs(v) < 1e15 then
      out[#out + 1] = string.format("%d", v)
    else
      out[#out + 1] = string.format("%.14g", v)
    end
  elseif kind == "string" then
    out[#out + 1] = encodeString(v)
  elseif kind == "table" then
    local array, n = isArray(v)
    if array then
      out[#out + 1] = "["
      for i = 1, n do
        if i > 1 then out[#out + 1] = "," end
        encodeValue(v[i], out)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for k in pairs(v) do
        if type(k) ~= "string" then error("JSON object keys must be strings, got " .. type(k)) end
        keys[#keys + 1] = k
      end
      table.sort(keys)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = encodeString(k)
        out[#out + 1] = ":"
        encodeValue(v[k], out)
      end
      out[#out + 1] = "}"
    end
  else
    error("cannot encode a " .. kind .. " in JSON")
  end
end

function Json.encode(value)
  local out = {}
  encodeValue(value, out)
  return table.concat(out)
end

-- Decoder ---------------------------------------------------------------------------------------------------
local function utf8char(cp)
  if cp < 0x80 then return string.char(cp) end
  if cp < 0x800 then return string.char(0xC0 + math.floor(cp / 0x40), 0x80 + cp % 0x40) end
  if cp < 0x10000 then
    return string.char(0xE0 + math.floor(cp / 0x1000), 0x80 + math.floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
  end
  return string.char(0xF0 + math.floor(cp / 0x40000), 0x80 + math.floor(cp / 0x1000) % 0x40,
                     0x80 + math.floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
end

local unescapes = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }

local decodeValue

local function fail(text, pos, what)
  error({ json = true, message = string.format("bad JSON at byte %d: %s", pos, what) })
end

local function skip(text, pos)
  return text:find("[^ \t\r\n]", pos) or #text + 1
end

local function decodeString(text, pos)
  local parts, i = {}, pos + 1
  while true do
    local j = text:find('["\\]', i)
    if not j then fail(text, pos, "unterminated string") end
    parts[#parts + 1] = text:sub(i, j - 1)
    if text:sub(j, j) == '"' then
      return table.concat(parts), j + 1
    end
    local c = text:sub(j + 1, j + 1)
    if c == "u" then
      local hex = text:sub(j + 2, j + 5)
      local cp = tonumber(hex, 16)
      if not cp or #hex ~= 4 then fail(text, j, "bad \\u escape") end
      local nextPos = j + 6
      if cp >= 0xD800 and cp <= 0xDBFF and text:sub(nextPos, nextPos + 1) == "\\u" then
        local low = tonumber(text:sub(nextPos + 2, nextPos + 5), 16)
        if low and low >= 0xDC00 and low <= 0xDFFF then
          cp = 0x10000 + (cp - 0xD800) * 0x400 + (low - 0xDC00)
          nextPos = nextPos + 6
        end
      end
      parts[#parts + 1] = utf8char(cp)
      i = nextPos
    elseif unescapes[c] then
      parts[#parts + 1] = unescapes[c]
      i = j + 2
    else
      fail(text, j, "bad escape")
    end
  end
end

function decodeValue(text, pos)
  pos = skip(text, pos)
  local c = text:sub(pos, pos)
  if c == "{" then
    local obj = {}
    pos = skip(text, pos + 1)
    if text:sub(pos, pos) == "}" then return obj, pos + 1 end
    while true do
      if text:sub(pos, pos) ~= '"' then fail(text, pos, "expected a key") end
      local key
      key, pos = decodeString(text, pos)
      pos = skip(text, pos)
      if text:sub(pos, pos) ~= ":" then fail(text, pos, "expected ':'") end
      obj[key], pos = decodeValue(text, pos + 1)
      pos = skip(text, pos)
      local d = text:sub(pos, pos)
      if d == "}" then return obj, pos + 1 end
      if d ~= "," then fail(text, pos, "expected ',' or '}'") end
      pos = skip(text, pos + 1)
    end
  elseif c == "[" then
    local arr = {}
    pos = skip(text, pos + 1)
    if text:sub(pos, pos) == "]" then return arr, pos + 1 end
    while true do
      arr[#arr + 1], pos = decodeValue(text, pos)
      pos = skip(text, pos)
      local d = text:sub(pos, pos)
      if d == "]" then return arr, pos + 1 end
      if d ~= "," then fail(text, pos, "expected ',' or ']'") end
      pos = pos + 1
    end
  elseif c == '"' then
    return decodeString(text, pos)
  elseif text:sub(pos, pos + 3) == "true" then
    return true, pos + 4
  elseif text:sub(pos, pos + 4) == "false" then
    return false, pos + 5
  elseif text:sub(pos, pos + 3) == "null" then
    return Json.null, pos + 4
  else
    local num = text:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
    local value = num and tonumber(num)
    if value == nil then fail(text, pos, "unexpected character") end
    return value, pos + #num
  end
end

function Json.decode(text)
  if type(text) ~= "string" then return nil, "no JSON text" end
  local ok, value, pos = pcall(decodeValue, text, 1)
  if not ok then
    if type(value) == "table" and value.json then return nil, value.message end
    error(value, 0)
  end
  if skip(text, pos) <= #text then return nil, string.format("bad JSON at byte %d: trailing text", pos) end
  return value
end

return Json
