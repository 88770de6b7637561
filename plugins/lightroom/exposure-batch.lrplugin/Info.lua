--[[ exposure-batch for Lightroom Classic: plug-in description read by the Plug-in Manager. ]]
return {
  LrSdkVersion = 10.0,
  LrSdkMinimumVersion = 6.0,
  LrToolkitIdentifier = "org.exposure-batch.lightroom",
  LrPluginName = "exposure-batch",
  LrPluginInfoUrl = "https://github.com/exposure-batch/exposure-batch#lightroom-classic-plugin",
  LrPluginInfoProvider = "PluginInfoProvider.lua",
  LrInitPlugin = "Init.lua",
  -- Library > Plug-in Extras > Auto-edit selected photos
  LrLibraryMenuItems = {
    { title = "Auto-edit selected photos", file = "AutoEditMenuItem.lua", enabledWhen = "photosSelected" },
  },
  -- File > Plug-in Extras (also reachable from the Develop module)
  LrExportMenuItems = {
    { title = "Auto-edit selected photos", file = "AutoEditMenuItem.lua", enabledWhen = "photosSelected" },
  },
  VERSION = { major = 0, minor = 1, revision = 0 },
}
