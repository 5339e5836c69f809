// A value handed to lib/net that it cannot use as asked (an address of the
// wrong family, an interface name the kernel would refuse): the caller's
// input, which the plugin reports as invalid configuration.
export class NetInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NetInputError";
  }
}
