/* Test-only stand-in for bcryptprimitives.dll under Wine 8, which lacks ProcessPrng (the Rust
 * standard library's source of random bytes since Rust 1.78). Placed beside stepwise.exe for the
 * Wine suite only; never shipped. Windows 10 and later have the real one. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length); /* RtlGenRandom, advapi32 */

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
