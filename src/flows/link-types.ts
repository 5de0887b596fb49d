/** Link types (tcpdump.org/linktypes.html) that `decode.ts` reads, also named by tunnels' inner frames. */
export const LINKTYPE = {
  NULL: 0,
  ETHERNET: 1,
  RAW_BSD12: 12,
  RAW_BSD14: 14,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;
