// Drives janus serve with the official openai npm client (run by TestOpenAINodeClient):
// node openai_client.mjs BASE_URL API_KEY IMAGE.png prints one JSON object with what the
// client received.
import OpenAI from 'openai';
import { readFileSync } from 'node:fs';

const [baseURL, apiKey, imagePath] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 120_000 });
const image = 'data:image/png;base64,' + readFileSync(imagePath).toString('base64');
const messages = [{
  role: 'user',
  content: [
    { type: 'image_url', image_url: { url: image } },
    { type: 'text', text: 'What is in the picture?' },
  ],
}];
const out = {};

out.models = (await client.models.list()).data.map((m) => m.id);

const chat = await client.chat.completions.create({
  model: 'default', messages, max_tokens: 16, temperature: 0.7, seed: 3,
});
out.chat = chat.choices[0].message.content;
out.finish = chat.choices[0].finish_reason;
out.usage = chat.usage;

const stream = await client.chat.completions.create({
  model: 'tiny-a', messages, max_tokens: 16, temperature: 0.7, seed: 3,
  stream: true, stream_options: { include_usage: true },
});
out.streamed = '';
out.chunks = 0;
for await (const chunk of stream) {
  out.chunks++;
  if (chunk.choices.length > 0) out.streamed += chunk.choices[0].delta.content ?? '';
  if (chunk.usage) out.streamUsage = chunk.usage;
}

const img = await client.images.generate({
  model: 'default', prompt: 'A red fox', n: 1, response_format: 'b64_json', seed: 4, cfg: 5, temperature: 1,
});
out.image = img.data[0].b64_json;

const events = await client.images.generate({ prompt: 'A red fox', seed: 4, stream: true });
for await (const ev of events) {
  if (ev.type === 'image_generation.completed') out.streamedImage = ev.b64_json;
}

try {
  await client.chat.completions.create({ model: 'gpt-4o', messages });
} catch (e) {
  out.notFound = { status: e.status, code: e.code };
}
try {
  await new OpenAI({ baseURL, apiKey: 'wrong', maxRetries: 0 }).models.list();
} catch (e) {
  out.badKey = { status: e.status, code: e.code };
}

console.log(JSON.stringify(out));
