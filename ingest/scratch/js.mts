import { z } from 'zod';
import { messageSchema } from '../src/message.js';
const s = z.toJSONSchema(messageSchema, { target: 'draft-2020-12' });
console.log(JSON.stringify(s).length, JSON.stringify(s).slice(0, 600));
