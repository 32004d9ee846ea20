// Imported as text so `bun build --compile` embeds them: `eft-footprint install` needs no other file.
import envTemplate from "./eft-footprint.env" with { type: "text" };
import serveUnit from "./systemd/eft-footprint.service" with { type: "text" };
import consumeUnit from "./systemd/eft-footprint-consume@.service" with { type: "text" };

export { consumeUnit, envTemplate, serveUnit };
