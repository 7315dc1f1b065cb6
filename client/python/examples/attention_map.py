#!/usr/bin/env python3
"""Encodes a sentence with attnserve and plots its last layer's attention maps as a PNG.

  /usr/bin/python3 client/python/examples/attention_map.py [--address 127.0.0.1:50051]
      [--text "..."] [--out attention.png]
"""
import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import attnserve_client  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--address", default="127.0.0.1:50051")
    ap.add_argument("--model", default="")
    ap.add_argument("--text", default="the quick brown fox jumps over the lazy dog")
    ap.add_argument("--out", default="attention.png")
    args = ap.parse_args()

    client = attnserve_client.Client(args.address)
    result = client.encode([args.text], model=args.model, attention_layers=[-1], normalize=True)
    maps = result["attention"][0][0]  # [heads, seq, seq]
    labels = [piece for _, piece, *_ in client.tokenize([args.text], model=args.model)[0]]
    print(f"model {result['model']}: {result['num_tokens'][0]} tokens, "
          f"embedding of {result['pooled'].shape[1]} dims, {maps.shape[0]} heads")

    heads = maps.shape[0]
    cols = min(heads, 4)
    rows = (heads + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.2 * rows), squeeze=False)
    for h, ax in enumerate(axes.flat):
        ax.axis("off")
        if h >= heads:
            continue
        ax.imshow(maps[h], cmap="viridis", vmin=0)  # scaled to each head's largest weight
        ax.set_title(f"head {h}", fontsize=9)
        if len(labels) <= 24:
            ax.axis("on")
            ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=6)
            ax.set_yticks(range(len(labels)), labels, fontsize=6)
    fig.suptitle(f"last-layer attention: {args.text[:60]}")
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
