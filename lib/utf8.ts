// UTF-8 byte length of a string, as Buffer.byteLength gives it (a lone
// surrogate counts as the 3 bytes of U+FFFD, as TextEncoder writes it).
const encoder = new TextEncoder();

export const utf8Length = (text: string): number => encoder.encode(text).length;
