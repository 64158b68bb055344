package redis

import (
	"strconv"
	"strings"
	"sync"
)

// refillMarker is the key that says a refill of series key is under way. It must be in the
// series' Cluster slot, so that one script (and one EXISTS) can read both: "{key}:refill", whose
// hash tag is the key itself. A key with a brace in it (a String id may hold one) cannot be put
// in a hash tag whole — its own tag, or the first '}', would cut it — so its marker gets a hash
// tag chosen to fall in the key's slot instead: "{<tag of that slot>}:refill:key".
func refillMarker(key string) string {
	if strings.ContainsAny(key, "{}") {
		return "{" + slotTags()[slot(key)] + "}:refill:" + key
	}
	return "{" + key + "}:refill"
}

// slot is the Redis Cluster slot of key: CRC16 of its hash tag (what is between its first '{'
// and the next '}', when that is not empty), else of the whole key, modulo 16384.
func slot(key string) uint16 {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	return crc16(key) & (numSlots - 1)
}

const numSlots = 16384

// crc16 is CRC-16/XMODEM (polynomial 0x1021, initial value 0), the hash of Redis Cluster.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// slotTags holds for every slot a short brace-free string that hashes to it (base-36
// numbers, the first found for each slot; built once, about 160,000 hashes).
var slotTags = sync.OnceValue(func() *[numSlots]string {
	var tags [numSlots]string
	for n, left := int64(0), numSlots; left > 0; n++ {
		t := strconv.FormatInt(n, 36)
		if sl := crc16(t) & (numSlots - 1); tags[sl] == "" {
			tags[sl] = t
			left--
		}
	}
	return &tags
})
