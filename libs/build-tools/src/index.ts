export { englishZodOnly, ownImportMetaUrl } from './esbuild-plugins';
export { copyNativePayload } from './native-payload';
export { daemonBundleOptions, type DaemonBundle } from './node-bundle';
