/*
 * A stand-in for Windows' bcryptprimitives.dll, for running Go programs under Wine 8, which
 * lacks it: Go's runtime loads it at start for ProcessPrng, its source of random bytes. This
 * gives ProcessPrng on top of RtlGenRandom (advapi32's SystemFunction036), which Wine has.
 * Only the test prefix gets it (make test-windows); it is never shipped.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
