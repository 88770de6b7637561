local FakeSdk = require "fake_sdk"

describe("Json", function()
  local Json
  before_each(function()
    FakeSdk.install({})
    Json = require "Json"
  end)

  it("decodes the service's messages", function()
    local v = Json.decode('{"a": [1, 2.5, -3e2], "b": {"c": "x\\"y\\n"}, "t": true, "f": false, "n": null}')
    assert.are.same({ 1, 2.5, -300 }, v.a)
    assert.are.equal('x"y\n', v.b.c)
    assert.is_true(v.t)
    assert.is_false(v.f)
    assert.are.equal(Json.null, v.n)
  end)

  it("decodes \\u escapes and surrogate pairs to UTF-8", function()
    assert.are.equal("caf\195\169", Json.decode('"caf\\u00e9"'))
    assert.are.equal("\240\159\152\128", Json.decode('"\\ud83d\\ude00"'))
  end)

  it("encodes arrays, objects (sorted keys) and escapes", function()
    assert.are.equal('{"a":[1,2,3],"b":"q\\"\\n","c":true}', Json.encode({ b = 'q"\n', a = { 1, 2, 3 }, c = true }))
    assert.are.equal('[0.25,-1]', Json.encode({ 0.25, -1 }))
    assert.are.equal('"\\u0001"', Json.encode("\1"))
  end)

  it("round-trips", function()
    local v = { paths = { "/a b/é.jpg", "/c" }, agent = "learned", n = 3 }
    assert.are.same(v, Json.decode(Json.encode(v)))
  end)

  it("reports bad JSON instead of raising", function()
    for _, text in ipairs({ "{", '{"a" 1}', "[1,]x", '"open', "nul", "{} extra" }) do
      local v, err = Json.decode(text)
      assert.is_nil(v)
      assert.matches("bad JSON", err)
    end
  end)
end)

describe("ServiceClient", function()
  it("knows a service on this computer from one elsewhere", function()
    FakeSdk.install({})
    local ServiceClient = require "ServiceClient"
    for _, url in ipairs({ "http://127.0.0.1:8765", "http://localhost:8765/", "http://[::1]:8765", "http://127.0.0.2" }) do
      assert.is_true(ServiceClient.new({ url = url }):isLocal(), url)
    end
    for _, url in ipairs({ "http://studio:8765", "http://192.168.1.5:8765", "http://[fe80::1]:8765" }) do
      assert.is_false(ServiceClient.new({ url = url }):isLocal(), url)
    end
    assert.are.equal("http://localhost:8765", ServiceClient.new({ url = "http://localhost:8765/" }).url)
  end)
end)
