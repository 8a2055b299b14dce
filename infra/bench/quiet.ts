/**
 * Imported first by the bench (ES modules run in import order): the functions' logger is created when
 * its module loads, so its level has to be set before anything imports it. Logging every request
 * would time the console, not the bridge.
 */
process.env.POWERTOOLS_LOG_LEVEL ??= "SILENT";
