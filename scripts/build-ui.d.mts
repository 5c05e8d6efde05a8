export declare const UI_SRC: string;
export declare const UI_OUT: string;
export declare function needsBuild(src?: string, out?: string): boolean;
export declare function buildUi(o?: { src?: string; out?: string; minify?: boolean }): Promise<string[]>;
export declare function ensureUiBuilt(): Promise<boolean>;
