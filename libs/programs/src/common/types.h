/* Fixed-width types for the <tool>.h records shared by the BPF side and the TypeScript layouts.
 * BPF code gets them from vmlinux.h; anything else (a C check, a future user-space tool) gets
 * these, so a record header never drags in kernel headers. */
#ifndef __FLEETTRACE_TYPES_H
#define __FLEETTRACE_TYPES_H

#ifndef __VMLINUX_H__
typedef unsigned char __u8;
typedef signed char __s8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef signed int __s32;
typedef unsigned long long __u64;
typedef signed long long __s64;
#endif

/* The kernel's TASK_COMM_LEN: a comm is at most 15 bytes plus its NUL. */
#define FT_COMM_LEN 16

#endif
