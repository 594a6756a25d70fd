// In-memory fixtures. A real service would use a database; the workload only needs
// stable data so that tests and benchmarks can run anywhere without set-up.

/** Published articles served by the public read endpoints. */
export const articles = [
  { id: 1, title: 'Choosing a window size', body: 'Short windows react fast; long windows smooth out bursts.' },
  { id: 2, title: 'Why shared IPs matter', body: 'Offices and mobile carriers put many people behind one address.' },
  { id: 3, title: 'Health checks and probes', body: 'Load balancers ask often; they should never be turned away.' },
];

/**
 * Accounts that can log in. Passwords are stored as scrypt hashes (salt, hash; 32-byte key).
 * Demo credentials: alice / alice-correct-horse, bob / bob-battery-staple, carol / carol-tr0ub4dor.
 */
export const users = [
  {
    id: 1,
    username: 'alice',
    email: 'alice@example.test',
    salt: '3fa256236f1bdd77355872777eee4fb3',
    hash: 'df29ff50c653b2c1a8a1c0228c2064859445fa41da05b9c6ac14277d01d3316a',
  },
  {
    id: 2,
    username: 'bob',
    email: 'bob@example.test',
    salt: '97d15ddd1c2af8061c26e23f2c66c5ef',
    hash: 'e4afc08ada1b72c705d6080413fd6352b67ab2baf7d2e317c7ea75cc734608d3',
  },
  {
    id: 3,
    username: 'carol',
    email: 'carol@example.test',
    salt: 'd47ec0e328bd722433f0125ed31785c1',
    hash: '8909ed18448ce186e2777e930b6c22eb215255ebbfd5ffc0f5a2da9897e79d5f',
  },
];
