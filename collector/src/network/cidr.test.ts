import { AppError } from "@pcapfleet/core";
import { describe, expect, it } from "vitest";
import { parsePrefix } from "./cidr.js";
import { networkConfigSchema } from "./config.js";

describe("parsePrefix", () => {
  it("reads IPv4 and IPv6 addresses and networks in canonical form", () => {
    expect(parsePrefix("10.1.2.0/24")).toEqual({
      family: 4,
      address: "10.1.2.0",
      bits: 24,
      text: "10.1.2.0/24",
    });
    expect(parsePrefix("10.1.2.3")).toMatchObject({ bits: 32, text: "10.1.2.3/32" });
    expect(parsePrefix("0.0.0.0/0").text).toBe("0.0.0.0/0");
    expect(parsePrefix("2001:DB8:0:0::/48")).toMatchObject({ family: 6, address: "2001:db8::", bits: 48 });
    expect(parsePrefix("fd00:20:0:1::/64").text).toBe("fd00:20:0:1::/64");
    expect(parsePrefix("2001:db8::1").text).toBe("2001:db8::1/128");
    expect(parsePrefix("::ffff:10.0.0.0/104").bits).toBe(104);
  });

  it("refuses host bits right of the mask, bad lengths and non-addresses, naming the field", () => {
    const cases: Array<[string, RegExp]> = [
      ["10.1.2.3/24", /prefix: "10.1.2.3\/24" has bits set right of the \/24 mask/],
      ["2001:db8::1/64", /bits set right of the \/64 mask/],
      ["10.1.2.0/33", /bad prefix length \(IPv4: 0-32\)/],
      ["2001:db8::/129", /bad prefix length \(IPv6: 0-128\)/],
      ["10.1.2.0/", /bad prefix length/],
      ["10.1.2.0/-1", /bad prefix length/],
      ["10.1.2/24", /not an IPv4 or IPv6 address/],
      ["300.1.2.3", /not an IPv4 or IPv6 address/],
      ["", /not an IPv4 or IPv6 address/],
      ["example.com", /not an IPv4 or IPv6 address/],
    ];
    for (const [text, message] of cases) {
      expect(() => parsePrefix(text), text).toThrow(AppError);
      expect(() => parsePrefix(text), text).toThrow(message);
    }
    expect(() => parsePrefix("1.2.3.4/8", "within")).toThrow(/^within: /);
  });

  it("checks the learner's include list in the configuration", () => {
    expect(networkConfigSchema.parse({ include: ["10.0.0.0/8", "fd00::/8"] }).include).toHaveLength(2);
    expect(() => networkConfigSchema.parse({ include: ["10.0.0.1/8"] })).toThrow(/bits set right/);
    expect(networkConfigSchema.parse({})).toMatchObject({ intervalS: 60, lookbackHours: 24, minShare: 0.5 });
  });
});
