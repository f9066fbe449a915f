import { scryptSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { open, poly1305Aes, seal, UnauthenticatedError, type CipherKey } from '../lib/restic/crypto.js';
import { checkParams } from '../lib/config/kdf-params.js';
import { calibrate, deriveKey } from '../lib/restic/kdf.js';
import {
  formatPolynomial,
  isIrreducible,
  parsePolynomial,
  polynomialDegree,
  randomPolynomial,
} from '../lib/restic/polynomial.js';

const hex = (value: string): Buffer => Buffer.from(value.replace(/\s+/g, ''), 'hex');

// restic internal/crypto/crypto_int_test.go poly1305Tests: the four Poly1305-AES examples of Bernstein's paper.
const poly1305Vectors = [
  {
    msg: 'f3f6',
    r: '851fc40c3467ac0be05cc20404f3f700',
    k: 'ec074c835580741701425b623235add6',
    nonce: 'fb447350c4e868c52ac3275cf9d4327e',
    mac: 'f4c633c3044fc145f84f335cb81953de',
  },
  {
    msg: '',
    r: 'a0f3080000f46400d0c7e9076c834403',
    k: '75deaa25c09f208e1dc4ce6b5cad3fbf',
    nonce: '61ee09218d29b0aaed7e154a2c5509cc',
    mac: 'dd3fab2251f11ac759f0887129cc2ee7',
  },
  {
    msg: '663cea190ffb83d89593f3f476b6bc24d7e679107ea26adb8caf6652d0656136',
    r: '48443d0bb0d21109c89a100b5ce2c208',
    k: '6acb5f61a7176dd320c5c1eb2edcdc74',
    nonce: 'ae212a55399729595dea458bc621ff0e',
    mac: '0ee1c16bb73f0f4fd19881753c01cdbe',
  },
  {
    msg: 'ab0812724a7f1e342742cbed374d94d136c6b8795d45b3819830f2c04491faf0990c62e48b8018b2c3e4a0fa3134cb67fa83e158c994d961c4cb21095c1bf9',
    r: '12976a08c4426d0ce8a82407c4f48207',
    k: 'e1a5668a4d5b66a5f68cc5424ed5982d',
    nonce: '9ae831e743978d3a23527c7128149e3a',
    mac: '5154ad0d2cb26e01274fc51148491f1b',
  },
];

// restic internal/crypto/crypto_int_test.go testValues.
const restic: CipherKey = {
  encrypt: hex('303e8687b1d7db18421bdc6bb8588ccadac4d59ee87b8ff70c44e635790cafef'),
  macK: hex('ef4d8824cb80b2bcc5fbff8a9b12a42c'),
  macR: hex('cc8d4b948ee0ebfe1d415de921d10353'),
};
const resticCiphertext = hex(
  '69fb41c62d12def4593bd71757138606338f621aeaeb39da0fe4f99233f8037a54ea63338a813bcf3f75d8c3cc75dddf8750',
);

describe('restic crypto: published vectors', () => {
  it.each(poly1305Vectors.map((vector, index) => [index, vector] as const))(
    'Poly1305-AES example %i',
    (_, vector) => {
      const mac = poly1305Aes(hex(vector.msg), hex(vector.nonce), {
        macK: hex(vector.k),
        macR: hex(vector.r),
      });
      expect(Buffer.from(mac).toString('hex')).toBe(vector.mac);
    },
  );

  it('opens restic’s AEAD vector to "Dies ist ein Test!"', () => {
    expect(open(restic, resticCiphertext).toString('utf8')).toBe('Dies ist ein Test!');
  });

  it('refuses a flipped MAC, nonce or ciphertext byte (MAC checked first)', () => {
    for (const index of [0, 5, 16 + 5, resticCiphertext.length - 8]) {
      const tampered = Buffer.from(resticCiphertext);
      tampered[index] = (tampered[index] as number) ^ 0x23;
      expect(() => open(restic, tampered)).toThrow(UnauthenticatedError);
    }
  });

  it('refuses an all-zero nonce and a message shorter than IV and MAC', () => {
    const zeroNonce = Buffer.concat([Buffer.alloc(16), resticCiphertext.subarray(16)]);
    expect(() => open(restic, zeroNonce)).toThrow(UnauthenticatedError);
    expect(() => open(restic, resticCiphertext.subarray(0, 31))).toThrow(UnauthenticatedError);
  });

  it('seal with the vector’s IV reproduces restic’s ciphertext', () => {
    const sealed = seal(restic, Buffer.from('Dies ist ein Test!'), resticCiphertext.subarray(0, 16));
    expect(sealed.toString('hex')).toBe(resticCiphertext.toString('hex'));
  });

  it('round-trips any plaintext and rejects any single-bit flip', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (plaintext, at, bit) => {
          const sealed = seal(restic, plaintext);
          expect(Buffer.from(open(restic, sealed)).equals(Buffer.from(plaintext))).toBe(true);
          const flipped = Buffer.from(sealed);
          const index = at % flipped.length;
          flipped[index] = (flipped[index] as number) ^ (1 << bit);
          expect(() => open(restic, flipped)).toThrow(UnauthenticatedError);
        },
      ),
      { numRuns: 200 },
    );
  });
});

// RFC 7914 §12 test vectors (the N=1048576 one needs 1 GiB and is left to scryptSync's own tests).
const rfc7914 = [
  {
    password: '',
    salt: '',
    params: { N: 16, r: 1, p: 1 },
    key: `77 d6 57 62 38 65 7b 20 3b 19 ca 42 c1 8a 04 97 f1 6b 48 44 e3 07 4a e8 df df fa 3f ed e2 14 42
          fc d0 06 9d ed 09 48 f8 32 6a 75 3a 0f c8 1f 17 e8 d3 e0 fb 2e 0d 36 28 cf 35 e2 0c 38 d1 89 06`,
  },
  {
    password: 'password',
    salt: 'NaCl',
    params: { N: 1024, r: 8, p: 16 },
    key: `fd ba be 1c 9d 34 72 00 78 56 e7 19 0d 01 e9 fe 7c 6a d7 cb c8 23 78 30 e7 73 76 63 4b 37 31 62
          2e af 30 d9 2e 22 a3 88 6f f1 09 27 9d 98 30 da c7 27 af b9 4a 83 ee 6d 83 60 cb df a2 cc 06 40`,
  },
  {
    password: 'pleaseletmein',
    salt: 'SodiumChloride',
    params: { N: 16384, r: 8, p: 1 },
    key: `70 23 bd cb 3a fd 73 48 46 1c 06 cd 81 fd 38 eb fd a8 fb ba 90 4f 8e 3e a9 b5 43 f6 54 5d a1 f2
          d5 43 29 55 61 3f 0f cf 62 d4 97 05 24 2a 9a f9 e6 1e 85 dc 0d 65 1e 40 df cf 01 7b 45 57 58 87`,
  },
];

describe('restic kdf: scrypt', () => {
  it.each(rfc7914.map((vector) => [vector.password || '(empty)', vector] as const))(
    'RFC 7914 vector, password %s',
    async (_, vector) => {
      const key = await deriveKey(vector.password, Buffer.from(vector.salt), vector.params);
      expect(key.toString('hex')).toBe(vector.key.replace(/\s+/g, ''));
    },
  );

  it('derives restic-strength parameters (N=32768, r=8) that Node’s default maxmem would refuse', async () => {
    expect(() => scryptSync('x', 'y', 64, { N: 32768, r: 8, p: 1 })).toThrow();
    const key = await deriveKey('x', Buffer.from('y'), { N: 32768, r: 8, p: 1 });
    expect(key).toHaveLength(64);
  });

  it('calibrates like restic: r = 8, N = 32768 under 60 MiB, p = runs that fit in 500 ms', async () => {
    const tried: number[] = [];
    const fast = await calibrate(500, 60 * 1024 * 1024, async ({ N }) => (tried.push(N), 70));
    expect(fast).toEqual({ N: 32768, r: 8, p: 7 });
    expect(tried).toEqual([32768]);
    // A slow machine: N is halved while one run exceeds the target, as restic does.
    const slow = await calibrate(500, 60 * 1024 * 1024, async ({ N }) => (N >= 32768 ? 900 : N / 40));
    expect(slow).toEqual({ N: 16384, r: 8, p: 1 });
  });

  it('calibrates for real to parameters scrypt accepts', async () => {
    const params = await calibrate(100);
    expect(params.r).toBe(8);
    expect(params.N).toBeLessThanOrEqual(32768);
    expect(params.p).toBeGreaterThanOrEqual(1);
    expect(checkParams(params)).toBeUndefined();
  });

  it('refuses parameters scrypt cannot use', () => {
    expect(checkParams({ N: 1000, r: 8, p: 1 })).toMatch(/power of two/);
    expect(checkParams({ N: 1024, r: 0, p: 1 })).toMatch(/r must/);
    expect(checkParams({ N: 1024, r: 8, p: 0 })).toMatch(/p must/);
    expect(checkParams({ N: 2 ** 22, r: 8, p: 1 })).toMatch(/MiB/);
  });
});

// restic/chunker polynomials_test.go polIrredTests.
const irreducibility: [string, boolean][] = [
  ['38f1e565e288df', false],
  ['3da3358b4dc173', true],
  ['30a8295b9d5c91', false],
  ['255f4350b962cb', false],
  ['267f776110a235', false],
  ['2f4dae10d41227', false],
  ['2482734cacca49', true],
  ['312daf4b284899', false],
  ['29dfb6553d01d1', false],
  ['3548245eb26257', false],
  ['3199e7ef4211b3', false],
  ['362f39017dae8b', false],
  ['200d57aa6fdacb', false],
  ['35e0a4efa1d275', false],
  ['2ced55b026577f', false],
  ['260b012010893d', false],
  ['2df29cbcd59e9d', false],
  ['3f2ac7488bd429', false],
  ['3e5cb1711669fb', false],
  ['226d8de57a9959', false],
  ['3c8de80aaf5835', false],
  ['2026a59efb219b', false],
  ['39dfa4d13fb231', false],
  ['3143d0464b3299', false],
];

describe('restic polynomial', () => {
  it.each(irreducibility)('chunker table: %s irreducible = %s', (text, expected) => {
    expect(isIrreducible(parsePolynomial(text) as bigint)).toBe(expected);
  });

  it('draws random irreducible polynomials of degree 53', () => {
    for (let i = 0; i < 20; i++) {
      const f = randomPolynomial();
      expect(polynomialDegree(f)).toBe(53);
      expect(isIrreducible(f)).toBe(true);
      expect(parsePolynomial(formatPolynomial(f))).toBe(f);
    }
  });

  it('rejects reducible products', () => {
    const a = parsePolynomial('3da3358b4dc173') as bigint;
    // (x + 1)·a is reducible; multiplication over GF(2) is a shift and xor.
    expect(isIrreducible((a << 1n) ^ a)).toBe(false);
  });
});
