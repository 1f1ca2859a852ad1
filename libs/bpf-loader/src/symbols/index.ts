// Stacks: stack-trace maps read as instruction pointers, symbolized against kallsyms and the
// processes' ELF files, folded for flame graphs.
export { type Frame, frameName } from './frame';
export { KernelSymbolizer, kernelFunctionNames } from './kernel-symbolizer';
export { UserSymbolizer, ProcessGoneError } from './user-symbolizer';
export { ElfSymbolTable, clearElfSymbolCache, elfSymbolsOf } from './elf-symbols';
export { readStackTrace, readStackTraces, type StackTraces } from './stack-map';
export { foldStack, foldStacks, type FoldOptions, type StackSample } from './fold';
