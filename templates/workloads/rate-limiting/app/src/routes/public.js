import { Router } from 'express';
import { articles } from '../data.js';

/** Public, read-only endpoints: no authentication. */
export function publicRouter() {
  const router = Router();

  router.get('/articles', (_req, res) => {
    res.json({ articles: articles.map(({ id, title }) => ({ id, title })) });
  });

  router.get('/articles/:id', (req, res) => {
    const article = articles.find((candidate) => String(candidate.id) === req.params.id);
    if (!article) {
      res.status(404).json({ error: 'not_found', message: 'No such article.' });
      return;
    }
    res.json({ article });
  });

  return router;
}
