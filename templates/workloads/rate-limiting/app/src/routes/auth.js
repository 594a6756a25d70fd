import { Router } from 'express';
import { users } from '../data.js';
import { verifyCredentials } from '../auth.js';

/**
 * Login and password reset. Both are anonymous, so they are the endpoints an attacker
 * can hammer: guessing passwords, or flooding someone's inbox with reset mails.
 */
export function authRouter({ sessions, resetOutbox }) {
  const router = Router();

  router.post('/login', async (req, res, next) => {
    try {
      const { username, password } = req.body ?? {};
      const user = await verifyCredentials(username, password);
      if (!user) {
        res.status(401).json({ error: 'invalid_credentials', message: 'Wrong username or password.' });
        return;
      }
      res.json({ token: sessions.issue(user.id), user: { id: user.id, username: user.username } });
    } catch (error) {
      next(error);
    }
  });

  router.post('/password-reset', (req, res) => {
    const email = typeof req.body?.email === 'string' ? req.body.email.trim().toLowerCase() : '';
    if (!email) {
      res.status(400).json({ error: 'invalid_request', message: 'An email address is required.' });
      return;
    }
    // Same answer whether or not the address exists, so the endpoint does not reveal accounts.
    const user = users.find((candidate) => candidate.email === email);
    if (user) resetOutbox.push({ userId: user.id, requestedAt: new Date().toISOString() });
    res.status(202).json({ status: 'accepted', message: 'If the address is known, a reset link is on its way.' });
  });

  return router;
}
