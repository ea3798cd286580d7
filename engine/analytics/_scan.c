/* engine.analytics._scan: the report's reader of click-log files, in C.
 *
 * DuckDB's JSON reader builds a whole document for every line (about 1.5 us
 * of CPU for a 920-byte line); the report needs 18 of a line's 33 fields and
 * none of its user agent or headers. This reader walks each line once,
 * keeps the fields asked for as Arrow buffers (integers, doubles, and
 * strings as dictionary codes with the file's own dictionary), and only
 * checks the rest of the line for well-formed JSON.
 *
 * It is not a JSON library. It takes a line when the line is a JSON object
 * whose wanted fields hold what the click-log schema writes (an integer, a
 * number, a string, an array of plain strings, or null) and declines the
 * whole file otherwise: a value of another type, a duplicate wanted key,
 * an escape or whitespace inside `reasons`, a \u0000 escape, invalid UTF-8,
 * nesting deeper than 64, a line that is not an object, a line longer than
 * about 1 MiB (DuckDB's maximum_object_size in the report; where between 1
 * and 1.25 MiB depends on where the line falls in the 256 KiB reads), more
 * distinct values than a column's dictionary codes hold. Line numbers count
 * every line, blank ones too. The caller then reads that file with DuckDB's
 * read_json, whose answers (and errors) are the reference; a property test
 * (tests/unit/analytics/test_scan.py) holds the two equal.
 *
 *   scan_file(path, columns) -> (rows, {name: buffers}) | (None, line, why)
 *
 * columns: a sequence of (name: str, kind: str, default: bytes | None) with
 * kind "i64", "f64", "u32" (an integer from 0 to 2^32-1), "str8", "str16",
 * "str32" (strings as dictionary codes of 8, 16 or 32 bits), "str" (plain
 * Arrow strings, no dictionary) or "json" (an array of strings kept as its
 * minified text, dictionary-coded in 16 bits).
 * A missing key reads as null. A null string or array reads as `default`
 * when one is given. Buffers per column:
 *   i64/f64/u32:      (values, validity or None, null_count)
 *   str8/16/32, json: (codes, validity or None, null_count, dict_offsets, dict_data, dict_size)
 *   str:              (offsets, validity or None, null_count, data)
 * Buffers are read-only buffer objects over the reader's own memory (no
 * copy; pyarrow.py_buffer wraps them). The validity bitmaps are Arrow's
 * (least significant bit first). Runs with
 * the GIL released: call it from several threads for several files.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define MAX_COLS 64
#define MAX_DEPTH 64

enum { K_I64, K_F64, K_STR16, K_STR32, K_JSON, K_STR, K_STR8, K_U32 };

typedef struct {
    char *p;
    size_t len, cap;
} Buf;

struct Slot {
    uint64_t hash;
    int32_t code; /* code + 1; 0 = empty */
    int32_t pad;
};

static int buf_grow(Buf *b, size_t extra) {
    if (b->len + extra <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

static inline int buf_put(Buf *b, const void *src, size_t n) {
    if (buf_grow(b, n)) return -1;
    memcpy(b->p + b->len, src, n);
    b->len += n;
    return 0;
}

typedef struct {
    char name[64];
    size_t name_len;
    int kind;
    int has_default;
    Buf dflt;
    /* output */
    Buf values;
    Buf validity;
    int64_t nulls;
    /* dictionary */
    Buf offsets; /* int32, starts with 0 */
    Buf data;
    struct Slot *slots; /* open addressing; code 0 = empty */
    size_t nslots;
    int32_t last_code; /* the previous row's value: most columns repeat it */
    int32_t count;
    int32_t dflt_code; /* -1 until interned */
    /* per line */
    int64_t seen_row;
} Col;

#define MAX_KEYS 128
#define MAX_KEY_TEXT 40

typedef struct {
    char text[MAX_KEY_TEXT]; /* "name": */
    int len;
    int col;  /* -1: not wanted */
    int next; /* the key after this one last time; -1 none */
} Key;

typedef struct {
    Col cols[MAX_COLS];
    int ncols;
    signed char lookup[64][128]; /* [key length][first byte] -> first column index candidate; -1 none */
    int64_t rows;
    /* Keys seen so far, each with the key that followed it last time: a
     * writer puts its keys in one order, so the next key is nearly always
     * the one predicted, matched with its quotes and colon in one compare. */
    Key keys[MAX_KEYS];
    int nkeys;
    int first_key;
    Buf scratch; /* a string with escapes, decoded */
    locale_t c_locale;
    /* failure */
    int64_t line;
    const char *why;
} Scan;

/* ------------------------------------------------------------ hashing */

/* a[0..n) == b[0..n), without a call for short strings: two overlapping
 * loads cover every byte of up to 16 (3 bytes cover up to 3). */
static inline int same(const char *a, const char *b, size_t n) {
    if (n >= 8) {
        if (n > 16) return memcmp(a, b, n) == 0;
        uint64_t x0, y0, x1, y1;
        memcpy(&x0, a, 8);
        memcpy(&y0, b, 8);
        memcpy(&x1, a + n - 8, 8);
        memcpy(&y1, b + n - 8, 8);
        return x0 == y0 && x1 == y1;
    }
    if (n >= 4) {
        uint32_t x0, y0, x1, y1;
        memcpy(&x0, a, 4);
        memcpy(&y0, b, 4);
        memcpy(&x1, a + n - 4, 4);
        memcpy(&y1, b + n - 4, 4);
        return x0 == y0 && x1 == y1;
    }
    return n == 0 || (a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1]);
}

static inline uint64_t mix(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 29;
    return h;
}

static inline uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t a, b;
    if (n >= 8) { /* first and last eight bytes (overlapping when short), then every middle word */
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        uint64_t h = mix(a ^ (n * 0x9E3779B97F4A7C15ULL)) ^ (b * 0xc4ceb9fe1a85ec53ULL);
        for (size_t i = 8; i + 8 < n; i += 8) {
            memcpy(&a, s + i, 8);
            h = mix(h ^ a);
        }
        return mix(h);
    }
    a = 0;
    memcpy(&a, s, n);
    return mix(a ^ (n * 0x9E3779B97F4A7C15ULL));
}

static int dict_rehash(Col *c) {
    size_t n = c->nslots ? c->nslots * 2 : 256;
    struct Slot *slots = calloc(n, sizeof *slots);
    if (!slots) return -1;
    for (size_t i = 0; i < c->nslots; i++) {
        if (!c->slots[i].code) continue;
        size_t j = c->slots[i].hash & (n - 1);
        while (slots[j].code) j = (j + 1) & (n - 1);
        slots[j] = c->slots[i];
    }
    free(c->slots);
    c->slots = slots;
    c->nslots = n;
    return 0;
}

/* The code of string s in c's dictionary, added if new; -1 on memory or code-space exhaustion. */
static int32_t dict_code(Col *c, const char *s, size_t n) {
    if (c->kind == K_STR) { /* no dictionary: the value appended, its row's code is its end offset */
        if (c->data.len + n > (size_t)INT32_MAX || buf_put(&c->data, s, n)) return -1;
        int32_t end = (int32_t)c->data.len;
        if (buf_put(&c->offsets, &end, sizeof end)) return -1;
        c->count++;
        return end;
    }
    const int32_t *off = (const int32_t *)c->offsets.p;
    if (c->last_code >= 0) {
        int32_t a = off[c->last_code], b = off[c->last_code + 1];
        if ((size_t)(b - a) == n && same(c->data.p + a, s, n)) return c->last_code;
    }
    if ((size_t)(c->count + 1) * 2 > c->nslots && dict_rehash(c)) return -1;
    uint64_t h = hash_bytes(s, n);
    size_t j = h & (c->nslots - 1);
    for (;;) {
        int32_t k = c->slots[j].code;
        if (!k) break;
        if (c->slots[j].hash == h) {
            int32_t a = off[k - 1], b = off[k];
            if ((size_t)(b - a) == n && same(c->data.p + a, s, n)) return c->last_code = k - 1;
        }
        j = (j + 1) & (c->nslots - 1);
    }
    int32_t limit = c->kind == K_STR32 ? INT32_MAX - 1 : (c->kind == K_STR8 ? INT8_MAX : INT16_MAX);
    if (c->count >= limit || c->data.len + n > (size_t)INT32_MAX) return -1;
    if (buf_put(&c->data, s, n)) return -1;
    int32_t end = (int32_t)c->data.len;
    if (buf_put(&c->offsets, &end, sizeof end)) return -1;
    c->slots[j].code = ++c->count;
    c->slots[j].hash = h;
    return c->last_code = c->count - 1;
}

/* ------------------------------------------------------------ columns */

static inline size_t col_width(int kind) {
    switch (kind) {
        case K_I64:
        case K_F64: return 8;
        case K_U32:
        case K_STR32: return 4;
        case K_STR16:
        case K_JSON: return 2;
        case K_STR8: return 1;
        default: return 0; /* K_STR: the offsets are the column */
    }
}

static inline int is_number(int kind) { return kind == K_I64 || kind == K_F64 || kind == K_U32; }

static inline int set_valid(Col *c, int64_t row, int valid) {
    size_t byte = (size_t)(row >> 3);
    if (byte >= c->validity.len) {
        if (buf_grow(&c->validity, 4096)) return -1;
        memset(c->validity.p + c->validity.len, 0, c->validity.cap - c->validity.len);
        c->validity.len = c->validity.cap;
    }
    if (valid)
        c->validity.p[byte] |= (char)(1u << (row & 7));
    else
        c->nulls++;
    return 0;
}

static inline int put_code(Col *c, int32_t code) {
    if (c->kind == K_STR) return 0; /* the offsets are the column */
    if (c->kind == K_STR32) return buf_put(&c->values, &code, 4);
    if (c->kind == K_STR8) {
        int8_t b = (int8_t)code;
        return buf_put(&c->values, &b, 1);
    }
    int16_t s = (int16_t)code;
    return buf_put(&c->values, &s, 2);
}

/* A null (or missing) value in column c, for the current row. */
static int put_null(Scan *sc, Col *c) {
    int64_t row = sc->rows;
    if (c->kind == K_STR) {
        if (dict_code(c, c->dflt.p, c->has_default ? c->dflt.len : 0) < 0) return -1;
        return set_valid(c, row, c->has_default);
    }
    if (!is_number(c->kind) && c->has_default) {
        if (c->dflt_code < 0) {
            c->dflt_code = dict_code(c, c->dflt.p, c->dflt.len);
            if (c->dflt_code < 0) return -1;
        }
        if (put_code(c, c->dflt_code)) return -1;
        return set_valid(c, row, 1);
    }
    static const char zero[8] = {0};
    if (buf_put(&c->values, zero, col_width(c->kind))) return -1;
    return set_valid(c, row, 0);
}

/* ------------------------------------------------------------ lexing */

#define FAIL(sc_, why_) \
    do {                \
        (sc_)->why = (why_); \
        return NULL;    \
    } while (0)

static const char *ws_run(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r')) p++;
    return p;
}

/* p past any whitespace (rare in a log line: one compare when there is none). */
static inline const char *ws(const char *p, const char *end) {
    return (p < end && (unsigned char)*p <= ' ') ? ws_run(p, end) : p;
}

/* First byte at or after p that is '"', '\\', a control byte or >= 0x80. */
static inline const char *plain_run(const char *p, const char *end) {
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'), ctl = _mm_set1_epi8(0x1f);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)p);
        /* signed compare: bytes >= 0x80 are negative, so <= 0x1f too */
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                 _mm_cmpgt_epi8(_mm_add_epi8(ctl, _mm_set1_epi8(1)), v));
        int bits = _mm_movemask_epi8(m);
        if (bits) return p + __builtin_ctz((unsigned)bits);
        p += 16;
    }
#endif
    while (p < end) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"' || ch == '\\' || ch < 0x20 || ch >= 0x80) return p;
        p++;
    }
    return p;
}

/* Length of the valid UTF-8 sequence at p (a lead byte >= 0x80), 0 when invalid. */
static inline int utf8_len(const unsigned char *p, const unsigned char *end) {
    unsigned c = p[0];
    int n;
    unsigned min;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        min = 0x10000;
    } else
        return 0;
    if (end - p < n) return 0;
    unsigned cp = c & (0x3F >> (n - 1));
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

static int hex4(const char *p, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char ch = p[i];
        v <<= 4;
        if (ch >= '0' && ch <= '9')
            v |= (unsigned)(ch - '0');
        else if (ch >= 'a' && ch <= 'f')
            v |= (unsigned)(ch - 'a' + 10);
        else if (ch >= 'A' && ch <= 'F')
            v |= (unsigned)(ch - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static int put_utf8(Buf *b, unsigned cp) {
    char t[4];
    size_t n;
    if (cp < 0x80) {
        t[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        t[0] = (char)(0xC0 | (cp >> 6));
        t[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        t[0] = (char)(0xE0 | (cp >> 12));
        t[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        t[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        t[0] = (char)(0xF0 | (cp >> 18));
        t[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        t[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        t[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return buf_put(b, t, n);
}

/* A string starting after its opening quote at p. Returns the byte after the
 * closing quote. With s (a wanted value), s and n get the decoded text: a span of the
 * line when it has no escape, else sc->scratch. no_escape: decline escapes. */
static const char *string(Scan *sc, const char *p, const char *end, const char **s, size_t *n, int no_escape) {
    const char *start = p;
    int decoded = 0;
    for (;;) {
        const char *q = plain_run(p, end);
        if (decoded && q > p && buf_put(&sc->scratch, p, (size_t)(q - p))) FAIL(sc, "out of memory");
        p = q;
        if (p >= end) FAIL(sc, "a string does not end");
        unsigned char ch = (unsigned char)*p;
        if (ch == '"') {
            if (s) {
                if (decoded) {
                    *s = sc->scratch.p;
                    *n = sc->scratch.len;
                } else {
                    *s = start;
                    *n = (size_t)(p - start);
                }
            }
            return p + 1;
        }
        if (ch >= 0x80) {
            int k = utf8_len((const unsigned char *)p, (const unsigned char *)end);
            if (!k) FAIL(sc, "invalid UTF-8");
            if (decoded && buf_put(&sc->scratch, p, (size_t)k)) FAIL(sc, "out of memory");
            p += k;
            continue;
        }
        if (ch < 0x20) FAIL(sc, "a control character in a string");
        /* backslash */
        if (no_escape) FAIL(sc, "an escape where the reader keeps the raw text");
        if (!decoded && s) {
            sc->scratch.len = 0;
            if (buf_put(&sc->scratch, start, (size_t)(p - start))) FAIL(sc, "out of memory");
            decoded = 1;
        }
        if (end - p < 2) FAIL(sc, "a string does not end");
        char e = p[1];
        char lit;
        switch (e) {
            case '"': lit = '"'; break;
            case '\\': lit = '\\'; break;
            case '/': lit = '/'; break;
            case 'b': lit = '\b'; break;
            case 'f': lit = '\f'; break;
            case 'n': lit = '\n'; break;
            case 'r': lit = '\r'; break;
            case 't': lit = '\t'; break;
            case 'u': {
                unsigned cp, lo;
                if (end - p < 6 || hex4(p + 2, &cp)) FAIL(sc, "a bad \\u escape");
                p += 6;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                        FAIL(sc, "an unpaired surrogate");
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    p += 6;
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    FAIL(sc, "an unpaired surrogate");
                }
                if (cp == 0) FAIL(sc, "a NUL character");
                if (decoded && put_utf8(&sc->scratch, cp)) FAIL(sc, "out of memory");
                continue;
            }
            default: FAIL(sc, "a bad escape");
        }
        if (decoded && buf_put(&sc->scratch, &lit, 1)) FAIL(sc, "out of memory");
        p += 2;
    }
}

static inline int is_digit(char c) { return c >= '0' && c <= '9'; }

/* A JSON number at p: its end, and whether it is a plain integer. */
static const char *number(Scan *sc, const char *p, const char *end, int *integer) {
    const char *q = p;
    *integer = 1;
    if (q < end && *q == '-') q++;
    if (q >= end || !is_digit(*q)) FAIL(sc, "a bad number");
    if (*q == '0')
        q++;
    else
        while (q < end && is_digit(*q)) q++;
    if (q < end && *q == '.') {
        *integer = 0;
        q++;
        if (q >= end || !is_digit(*q)) FAIL(sc, "a bad number");
        while (q < end && is_digit(*q)) q++;
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        *integer = 0;
        q++;
        if (q < end && (*q == '+' || *q == '-')) q++;
        if (q >= end || !is_digit(*q)) FAIL(sc, "a bad number");
        while (q < end && is_digit(*q)) q++;
    }
    return q;
}

static const char *literal(Scan *sc, const char *p, const char *end, const char *word, size_t n) {
    if ((size_t)(end - p) < n || memcmp(p, word, n) != 0) FAIL(sc, "a bad literal");
    return p + n;
}

/* Any JSON value at p, checked and skipped. */
static const char *skip_value(Scan *sc, const char *p, const char *end, int depth) {
    if (p >= end) FAIL(sc, "a value is missing");
    switch (*p) {
        case '"': return string(sc, p + 1, end, NULL, NULL, 0);
        case 't': return literal(sc, p, end, "true", 4);
        case 'f': return literal(sc, p, end, "false", 5);
        case 'n': return literal(sc, p, end, "null", 4);
        case '[':
        case '{': {
            if (depth >= MAX_DEPTH) FAIL(sc, "nesting too deep");
            int obj = *p == '{';
            char close = obj ? '}' : ']';
            p = ws(p + 1, end);
            if (p < end && *p == close) return p + 1;
            for (;;) {
                if (obj) {
                    if (p >= end || *p != '"') FAIL(sc, "an object key is missing");
                    p = string(sc, p + 1, end, NULL, NULL, 0);
                    if (!p) return NULL;
                    p = ws(p, end);
                    if (p >= end || *p != ':') FAIL(sc, "a colon is missing");
                    p = ws(p + 1, end);
                }
                p = skip_value(sc, p, end, depth + 1);
                if (!p) return NULL;
                p = ws(p, end);
                if (p < end && *p == ',') {
                    p = ws(p + 1, end);
                    continue;
                }
                if (p < end && *p == close) return p + 1;
                FAIL(sc, "a comma or a closing bracket is missing");
            }
        }
        default: {
            int integer;
            return number(sc, p, end, &integer);
        }
    }
}

/* ------------------------------------------------------------ wanted values */

static const double POW10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                               1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* The double a JSON number's text denotes, correctly rounded. */
static double to_double(Scan *sc, const char *p, const char *q) {
    /* Clinger's fast path: an exact significand below 2^53 and a power of ten
     * up to 22 give the correctly rounded result in one multiply or divide. */
    const char *r = p;
    int neg = 0;
    if (*r == '-') {
        neg = 1;
        r++;
    }
    uint64_t sig = 0;
    int digits = 0, exp10 = 0, ok = 1;
    for (; r < q && is_digit(*r); r++) {
        if (sig || *r != '0') digits++;
        sig = sig * 10 + (uint64_t)(*r - '0');
        if (digits > 18) ok = 0;
    }
    if (r < q && *r == '.') {
        for (r++; r < q && is_digit(*r); r++) {
            if (sig || *r != '0') digits++;
            sig = sig * 10 + (uint64_t)(*r - '0');
            exp10--;
            if (digits > 18) ok = 0;
        }
    }
    if (r < q) ok = 0; /* an exponent: leave it to strtod */
    if (exp10 == 0 && ok && sig == 0) return 0.0; /* an integer -0 is the integer 0, as DuckDB reads it */
    if (ok && sig < (1ULL << 53) && exp10 >= -22) {
        double d = (double)sig;
        d = exp10 < 0 ? d / POW10[-exp10] : d;
        return neg ? -d : d;
    }
    char tmp[512];
    size_t n = (size_t)(q - p);
    if (n >= sizeof tmp) {
        /* absurdly long: strtod on a heap copy */
        char *h = malloc(n + 1);
        if (!h) return 0.0;
        memcpy(h, p, n);
        h[n] = 0;
        double d = strtod_l(h, NULL, sc->c_locale);
        free(h);
        return d;
    }
    memcpy(tmp, p, n);
    tmp[n] = 0;
    return strtod_l(tmp, NULL, sc->c_locale);
}

/* A wanted column's value at p, appended for the current row. */
static const char *wanted(Scan *sc, Col *c, const char *p, const char *end) {
    if (p < end && *p == 'n') {
        p = literal(sc, p, end, "null", 4);
        if (!p) return NULL;
        if (put_null(sc, c)) FAIL(sc, "out of memory");
        return p;
    }
    switch (c->kind) {
        case K_U32:
        case K_I64:
        case K_F64: {
            int integer;
            const char *q = number(sc, p, end, &integer);
            if (!q) {
                sc->why = "a number was expected";
                return NULL;
            }
            if (c->kind == K_U32) {
                if (!integer || *p == '-' || q - p > 10) FAIL(sc, "an integer from 0 to 2^32-1 was expected");
                uint64_t v = 0;
                for (const char *r = p; r < q; r++) v = v * 10 + (uint64_t)(*r - '0');
                if (v > UINT32_MAX) FAIL(sc, "an integer from 0 to 2^32-1 was expected");
                uint32_t u = (uint32_t)v;
                if (buf_put(&c->values, &u, 4)) FAIL(sc, "out of memory");
            } else if (c->kind == K_I64) {
                if (!integer) FAIL(sc, "an integer was expected");
                const char *r = p;
                int neg = *r == '-';
                if (neg) r++;
                if (q - r > 18) FAIL(sc, "an integer out of the reader's range");
                int64_t v = 0;
                for (; r < q; r++) v = v * 10 + (*r - '0');
                if (neg) v = -v;
                if (buf_put(&c->values, &v, 8)) FAIL(sc, "out of memory");
            } else {
                double d = to_double(sc, p, q);
                if (buf_put(&c->values, &d, 8)) FAIL(sc, "out of memory");
            }
            if (set_valid(c, sc->rows, 1)) FAIL(sc, "out of memory");
            return q;
        }
        case K_STR:
        case K_STR8:
        case K_STR16:
        case K_STR32: {
            if (p >= end || *p != '"') FAIL(sc, "a string was expected");
            const char *s;
            size_t n;
            p = string(sc, p + 1, end, &s, &n, 0);
            if (!p) return NULL;
            int32_t code = dict_code(c, s, n);
            if (code < 0) FAIL(sc, "too many distinct values for the reader's dictionary");
            if (put_code(c, code) || set_valid(c, sc->rows, 1)) FAIL(sc, "out of memory");
            return p;
        }
        default: { /* K_JSON: an array of plain strings, kept as its text */
            if (p >= end || *p != '[') FAIL(sc, "an array was expected");
            const char *start = p++;
            if (p < end && *p != ']') {
                for (;;) {
                    if (p >= end || *p != '"') FAIL(sc, "an array of strings was expected");
                    p = string(sc, p + 1, end, NULL, NULL, 1);
                    if (!p) return NULL;
                    if (p < end && *p == ',') {
                        p++;
                        continue;
                    }
                    break;
                }
            }
            if (p >= end || *p != ']') FAIL(sc, "an array of strings was expected");
            p++;
            int32_t code = dict_code(c, start, (size_t)(p - start));
            if (code < 0) FAIL(sc, "too many distinct values for the reader's dictionary");
            if (put_code(c, code) || set_valid(c, sc->rows, 1)) FAIL(sc, "out of memory");
            return p;
        }
    }
}

static inline int find_col(Scan *sc, const char *k, size_t n) {
    if (n == 0 || n >= 64 || (unsigned char)k[0] >= 128) return -1;
    int i = sc->lookup[n][(unsigned char)k[0]];
    for (; i >= 0 && i < sc->ncols; i++) {
        Col *c = &sc->cols[i];
        if (c->name_len == n && same(c->name, k, n)) return i;
        if (i + 1 < sc->ncols && (sc->cols[i + 1].name_len != n || sc->cols[i + 1].name[0] != k[0])) return -1;
    }
    return -1;
}

/* The id of the key whose text (quotes and colon) is start..end, learned if new;
 * -1 when it cannot be matched whole (an escape or whitespace in it) or the table is full. */
static int learn_key(Scan *sc, const char *start, const char *end, const char *k, size_t kn, int col) {
    size_t len = (size_t)(end - start);
    if (len != kn + 3 || k != start + 1 || len > MAX_KEY_TEXT) return -1;
    for (int i = 0; i < sc->nkeys; i++)
        if ((size_t)sc->keys[i].len == len && same(sc->keys[i].text, start, len)) return i;
    if (sc->nkeys >= MAX_KEYS) return -1;
    Key *key = &sc->keys[sc->nkeys];
    memcpy(key->text, start, len);
    key->len = (int)len;
    key->col = col;
    key->next = -1;
    return sc->nkeys++;
}

/* One line (without its newline). Returns 0, or -1 with sc->why set. */
static int line(Scan *sc, const char *p, const char *end) {
    p = ws(p, end);
    if (p >= end || *p != '{') {
        sc->why = "a line is not a JSON object";
        return -1;
    }
    int64_t row = sc->rows;
    p = ws(p + 1, end);
    if (p < end && *p == '}') {
        p++;
    } else {
        int pred = sc->first_key, prev = -1;
        for (;;) {
            int ci, id = -1;
            if (pred >= 0 && end - p >= sc->keys[pred].len && same(p, sc->keys[pred].text, (size_t)sc->keys[pred].len)) {
                id = pred;
                ci = sc->keys[id].col;
                p += sc->keys[id].len;
            } else {
                if (p >= end || *p != '"') {
                    sc->why = "an object key is missing";
                    return -1;
                }
                const char *k, *start = p;
                size_t kn;
                const char *q = string(sc, p + 1, end, &k, &kn, 0);
                if (!q) return -1;
                ci = find_col(sc, k, kn);
                p = ws(q, end);
                if (p >= end || *p != ':') {
                    sc->why = "a colon is missing";
                    return -1;
                }
                p++;
                id = learn_key(sc, start, p, k, kn, ci);
            }
            if (prev >= 0)
                sc->keys[prev].next = id;
            else
                sc->first_key = id;
            prev = id;
            pred = id >= 0 ? sc->keys[id].next : -1;
            p = ws(p, end);
            if (ci >= 0) {
                Col *c = &sc->cols[ci];
                if (c->seen_row == row) {
                    sc->why = "a key appears twice";
                    return -1;
                }
                c->seen_row = row;
                p = wanted(sc, c, p, end);
            } else {
                p = skip_value(sc, p, end, 1);
            }
            if (!p) return -1;
            p = ws(p, end);
            if (p < end && *p == ',') {
                p = ws(p + 1, end);
                continue;
            }
            if (p < end && *p == '}') {
                p++;
                break;
            }
            sc->why = "a comma or a closing brace is missing";
            return -1;
        }
    }
    p = ws(p, end);
    if (p != end) {
        sc->why = "text after the object";
        return -1;
    }
    for (int i = 0; i < sc->ncols; i++) {
        Col *c = &sc->cols[i];
        if (c->seen_row != row && put_null(sc, c)) {
            sc->why = "out of memory";
            return -1;
        }
    }
    sc->rows++;
    return 0;
}

/* The lines of p..end that end in a newline (all of them when last), from line number *n on.
 * Returns the start of the unfinished line (end when none), or NULL with sc->why set. */
static const char *scan_lines(Scan *sc, const char *p, const char *end, int last, int64_t *n) {
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl && !last) return p;
        const char *e = nl ? nl : end;
        ++*n;
        if (ws(p, e) < e && line(sc, p, e)) { /* blank lines are skipped, as DuckDB's reader does */
            sc->line = *n;
            return NULL;
        }
        p = nl ? nl + 1 : end;
    }
    return end;
}

#define READ_SIZE (256u << 10) /* a read the cache keeps until it is parsed */
#define MAX_LINE (1u << 20) /* DuckDB's maximum_object_size in the report's read_json */
/* The kernel is asked to bring the next AHEAD bytes into the page cache
 * (POSIX_FADV_WILLNEED) each time the read passes half of what it was last
 * asked for, so a file that is not (or no longer wholly) cached is read from
 * the disk while the lines before it are parsed, not a page at a time. */
#define AHEAD ((off_t)64 << 20)

/* The file on fd, read in chunks (the report's memory stays its own, not the page cache's).
 * Returns 0, -1 declined (sc->why), or an errno. */
static int scan_fd(Scan *sc, int fd) {
    size_t cap = MAX_LINE + 2 * READ_SIZE, have = 0;
    char *buf = malloc(cap);
    int64_t n = 0;
    off_t pos = 0, asked = 0;
    if (!buf) return ENOMEM;
    for (;;) {
        if (pos + AHEAD / 2 >= asked) {
            posix_fadvise(fd, asked, AHEAD, POSIX_FADV_WILLNEED); /* a hint: its failure changes nothing */
            asked += AHEAD;
        }
        size_t want = cap - have < READ_SIZE ? cap - have : READ_SIZE;
        ssize_t got = read(fd, buf + have, want);
        if (got < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            free(buf);
            return err;
        }
        pos += got;
        have += (size_t)got;
        int last = got == 0;
        const char *rest = scan_lines(sc, buf, buf + have, last, &n);
        if (!rest) {
            free(buf);
            return -1;
        }
        size_t left = (size_t)(buf + have - rest);
        if (last) break;
        if (left > MAX_LINE) {
            sc->line = n + 1;
            sc->why = "a line longer than 1 MiB";
            free(buf);
            return -1;
        }
        memmove(buf, rest, left);
        have = left;
    }
    free(buf);
    return 0;
}

/* ------------------------------------------------------------ Python */

static void scan_free(Scan *sc) {
    for (int i = 0; i < sc->ncols; i++) {
        Col *c = &sc->cols[i];
        free(c->dflt.p);
        free(c->values.p);
        free(c->validity.p);
        free(c->offsets.p);
        free(c->data.p);
        free(c->slots);
    }
    free(sc->scratch.p);
    if (sc->c_locale) freelocale(sc->c_locale);
    free(sc);
}

/* A read-only buffer over memory the reader allocated: handed to Arrow
 * (pyarrow.py_buffer) without a copy, freed when the last view goes. */
typedef struct {
    PyObject_HEAD char *p;
    Py_ssize_t len;
} Owned;

static int owned_getbuffer(PyObject *self, Py_buffer *view, int flags) {
    Owned *o = (Owned *)self;
    return PyBuffer_FillInfo(view, self, o->p, o->len, 1, flags);
}

static void owned_dealloc(PyObject *self) {
    free(((Owned *)self)->p);
    Py_TYPE(self)->tp_free(self);
}

static PyBufferProcs owned_as_buffer = {owned_getbuffer, NULL};

static PyTypeObject OwnedType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "engine.analytics._scan.Owned",
    .tp_basicsize = sizeof(Owned),
    .tp_dealloc = owned_dealloc,
    .tp_as_buffer = &owned_as_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Memory the reader filled, as a read-only buffer.",
};

/* The first n bytes of b as a buffer object; b's memory moves into it (b is left empty). */
static PyObject *bytes_of(Buf *b, size_t n) {
    if (!b->p && !(b->p = malloc(1))) return PyErr_NoMemory();
    Owned *o = PyObject_New(Owned, &OwnedType);
    if (!o) return NULL;
    o->p = b->p;
    o->len = (Py_ssize_t)n;
    b->p = NULL;
    b->len = b->cap = 0;
    return (PyObject *)o;
}

static PyObject *column_result(Scan *sc, Col *c) {
    size_t width = col_width(c->kind);
    size_t vbytes = (size_t)((sc->rows + 7) / 8);
    PyObject *values = bytes_of(&c->values, (size_t)sc->rows * width);
    PyObject *valid = c->nulls ? bytes_of(&c->validity, vbytes) : (Py_INCREF(Py_None), Py_None);
    if (!values || !valid) {
        Py_XDECREF(values);
        Py_XDECREF(valid);
        return NULL;
    }
    if (is_number(c->kind)) return Py_BuildValue("(NNL)", values, valid, (long long)c->nulls);
    if (c->kind == K_STR) { /* (offsets, validity, null_count, data) */
        Py_DECREF(values);
        PyObject *off = bytes_of(&c->offsets, c->offsets.len), *data = bytes_of(&c->data, c->data.len);
        if (!off || !data) {
            Py_DECREF(valid);
            Py_XDECREF(off);
            Py_XDECREF(data);
            return NULL;
        }
        return Py_BuildValue("(NNLN)", off, valid, (long long)c->nulls, data);
    }
    PyObject *off = bytes_of(&c->offsets, c->offsets.len);
    PyObject *data = bytes_of(&c->data, c->data.len);
    if (!off || !data) {
        Py_DECREF(values);
        Py_DECREF(valid);
        Py_XDECREF(off);
        Py_XDECREF(data);
        return NULL;
    }
    return Py_BuildValue("(NNLNNi)", values, valid, (long long)c->nulls, off, data, (int)c->count);
}

static PyObject *scan_file(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *path_obj, *columns;
    if (!PyArg_ParseTuple(args, "O&O", PyUnicode_FSConverter, &path_obj, &columns)) return NULL;
    Scan *sc = calloc(1, sizeof *sc);
    PyObject *seq = NULL, *result = NULL;
    if (!sc) {
        Py_DECREF(path_obj);
        return PyErr_NoMemory();
    }
    memset(sc->lookup, -1, sizeof sc->lookup);
    sc->first_key = -1;
    seq = PySequence_Fast(columns, "columns must be a sequence");
    if (!seq) goto done;
    Py_ssize_t nc = PySequence_Fast_GET_SIZE(seq);
    if (nc < 1 || nc > MAX_COLS) {
        PyErr_SetString(PyExc_ValueError, "between 1 and 64 columns");
        goto done;
    }
    sc->ncols = (int)nc;
    for (Py_ssize_t i = 0; i < nc; i++) {
        const char *name, *kind;
        Py_ssize_t name_len;
        PyObject *dflt;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "s#sO", &name, &name_len, &kind, &dflt)) goto done;
        Col *c = &sc->cols[i];
        if (name_len < 1 || name_len >= 64 || (unsigned char)name[0] >= 128) {
            PyErr_SetString(PyExc_ValueError, "a column name of 1 to 63 bytes, ASCII first");
            goto done;
        }
        if (i > 0) {
            Col *prev = &sc->cols[i - 1];
            /* the lookup needs columns grouped by (length, first byte): sorted */
            if (prev->name_len > (size_t)name_len ||
                (prev->name_len == (size_t)name_len && memcmp(prev->name, name, (size_t)name_len) >= 0)) {
                PyErr_SetString(PyExc_ValueError, "columns must be sorted by (name length, name), without repeats");
                goto done;
            }
        }
        memcpy(c->name, name, (size_t)name_len);
        c->name_len = (size_t)name_len;
        if (strcmp(kind, "i64") == 0)
            c->kind = K_I64;
        else if (strcmp(kind, "f64") == 0)
            c->kind = K_F64;
        else if (strcmp(kind, "str16") == 0)
            c->kind = K_STR16;
        else if (strcmp(kind, "str32") == 0)
            c->kind = K_STR32;
        else if (strcmp(kind, "json") == 0)
            c->kind = K_JSON;
        else if (strcmp(kind, "str") == 0)
            c->kind = K_STR;
        else if (strcmp(kind, "str8") == 0)
            c->kind = K_STR8;
        else if (strcmp(kind, "u32") == 0)
            c->kind = K_U32;
        else {
            PyErr_Format(PyExc_ValueError, "unknown column kind %s", kind);
            goto done;
        }
        c->dflt_code = -1;
        c->last_code = -1;
        c->seen_row = -1;
        if (dflt != Py_None) {
            if (!PyBytes_Check(dflt) || is_number(c->kind)) {
                PyErr_SetString(PyExc_TypeError, "a default is bytes, for a string or json column");
                goto done;
            }
            c->has_default = 1;
            if (buf_put(&c->dflt, PyBytes_AS_STRING(dflt), (size_t)PyBytes_GET_SIZE(dflt))) {
                PyErr_NoMemory();
                goto done;
            }
        }
        int32_t zero = 0;
        if (!is_number(c->kind) && buf_put(&c->offsets, &zero, 4)) {
            PyErr_NoMemory();
            goto done;
        }
        signed char *slot = &sc->lookup[name_len][(unsigned char)name[0]];
        if (*slot < 0) *slot = (signed char)i;
    }
    sc->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (!sc->c_locale) {
        PyErr_SetFromErrno(PyExc_OSError);
        goto done;
    }

    const char *path = PyBytes_AS_STRING(path_obj);
    int rc = 0, err = 0;
    Py_BEGIN_ALLOW_THREADS;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err = errno;
    } else {
        posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        int r = scan_fd(sc, fd);
        if (r < 0)
            rc = -1;
        else
            err = r;
        close(fd);
    }
    Py_END_ALLOW_THREADS;
    if (err) {
        errno = err;
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, PyTuple_GET_ITEM(args, 0));
        goto done;
    }
    if (rc) {
        result = Py_BuildValue("(OLs)", Py_None, (long long)sc->line, sc->why ? sc->why : "declined");
        goto done;
    }
    PyObject *cols = PyDict_New();
    if (!cols) goto done;
    for (int i = 0; i < sc->ncols; i++) {
        PyObject *r = column_result(sc, &sc->cols[i]);
        if (!r || PyDict_SetItemString(cols, sc->cols[i].name, r)) {
            Py_XDECREF(r);
            Py_DECREF(cols);
            goto done;
        }
        Py_DECREF(r);
    }
    result = Py_BuildValue("(LN)", (long long)sc->rows, cols);
done:
    Py_XDECREF(seq);
    Py_DECREF(path_obj);
    scan_free(sc);
    return result;
}

static PyMethodDef methods[] = {
    {"scan_file", scan_file, METH_VARARGS,
     "scan_file(path, columns) -> (rows, {name: buffers}) or (None, line, why): see engine/analytics/_scan.c"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "engine.analytics._scan", NULL, -1, methods};

PyMODINIT_FUNC PyInit__scan(void) {
    if (PyType_Ready(&OwnedType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    if (PyModule_AddStringConstant(m, "SOURCE_SHA256", SMSLINK_SCAN_SOURCE)) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
