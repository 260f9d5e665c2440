// The phone's own sensors: GPS position and compass heading.

export interface Fix {
  lat_deg: number;
  lon_deg: number;
  h_m?: number;
  accuracy_m: number;
  t_ms: number;
}

export class PhoneSensors {
  fix: Fix | null = null;
  /// Compass heading of the phone's top edge [deg from true north], when the device has one.
  headingDeg: number | null = null;
  onFix: (f: Fix) => void = () => {};
  onHeading: (deg: number) => void = () => {};
  gpsError = "";

  start(): void {
    if ("geolocation" in navigator) {
      navigator.geolocation.watchPosition(
        (p) => {
          this.fix = {
            lat_deg: p.coords.latitude,
            lon_deg: p.coords.longitude,
            h_m: p.coords.altitude ?? undefined,
            accuracy_m: p.coords.accuracy,
            t_ms: p.timestamp,
          };
          this.gpsError = "";
          this.onFix(this.fix);
        },
        (e) => (this.gpsError = e.message || "no GPS"),
        { enableHighAccuracy: true, maximumAge: 5000, timeout: 20_000 },
      );
    } else {
      this.gpsError = "no GPS in this browser";
    }
    const onOrientation = (e: DeviceOrientationEvent) => {
      const ios = (e as DeviceOrientationEvent & { webkitCompassHeading?: number }).webkitCompassHeading;
      let deg: number | null = null;
      if (typeof ios === "number") deg = ios;
      else if (e.absolute && e.alpha !== null) deg = (360 - e.alpha) % 360;
      if (deg !== null) {
        this.headingDeg = deg;
        this.onHeading(deg);
      }
    };
    window.addEventListener("deviceorientationabsolute", onOrientation as EventListener);
    window.addEventListener("deviceorientation", onOrientation);
  }

  /// iOS asks for permission to read the compass, and only from a tap.
  async askCompass(): Promise<void> {
    const D = DeviceOrientationEvent as unknown as { requestPermission?: () => Promise<string> };
    if (typeof D.requestPermission === "function") await D.requestPermission().catch(() => undefined);
  }
}
