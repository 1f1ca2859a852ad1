export { englishZodOnly, ownImportMetaUrl } from './esbuild-plugins';
export { copyNativePayload } from './native-payload';
