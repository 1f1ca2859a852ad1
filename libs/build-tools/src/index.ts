export { englishZodOnly, ownImportMetaUrl } from './esbuild-plugins';
