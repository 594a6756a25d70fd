import { Router } from 'express';
import { requireAuth } from '../auth.js';

/** The authenticated area: every route needs a bearer token from /api/auth/login. */
export function accountRouter({ sessions }) {
  const router = Router();
  router.use(requireAuth);

  router.get('/profile', (req, res) => {
    res.json({ user: req.user });
  });

  router.get('/orders', (req, res) => {
    res.json({ orders: [{ id: `${req.user.id}-1001`, total: 42.5, currency: 'EUR' }] });
  });

  router.post('/logout', (req, res) => {
    sessions.revoke(req.authToken);
    res.status(204).end();
  });

  return router;
}
