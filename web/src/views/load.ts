/** One GET per view and its inputs: the data, or the API's coded error as the message to show. */
import { type Inputs, useEffect, useState } from 'preact/hooks';
import { ApiFailure } from '../api.js';

export function useLoad<T>(load: () => Promise<T>, inputs: Inputs): [T | null, string | null] {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    setData(null);
    load().then(
      (d) => {
        if (!live) return;
        setData(d);
        setError(null);
      },
      (e: unknown) => {
        if (live) setError(e instanceof ApiFailure ? `${e.code}: ${e.message}` : String(e));
      },
    );
    return () => {
      live = false;
    };
  }, inputs);
  return [data, error];
}
