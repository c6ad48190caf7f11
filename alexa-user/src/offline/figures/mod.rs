//! `alexa report`: the paper's figures (section 5) as PNG, and `summary.md`
//! with the same numbers as tables. The "after down-sampling" figures use
//! the same seeded selection of `ack` rows as `alexa prepare`.
//!
//! The model's figures (confusion matrix, feature importances) are in
//! [`model`]; every figure's text is the embedded DejaVu Sans ([`font`]).

pub mod font;
pub mod model;

use std::{collections::BTreeMap, fmt::Write as _, io::Write as _, path::Path};

use alexa_common::CLASS_NAMES;
use anyhow::{bail, Context as _, Result};
use plotters::prelude::*;

use crate::{
    offline::csv::Records, offline::prepare::PrepareOptions, util::atomic_file::AtomicFile,
};

type Canvas<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

/// A white figure of `size` pixels, to be written to `path` by [`save`].
fn canvas(path: &Path, size: (u32, u32)) -> Result<Canvas<'_>> {
    font::register();
    let root = BitMapBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE)?;
    Ok(root)
}

/// The name under a category's bar: categories sit at x = i + 0.5, and the
/// axis's other ticks stay blank.
fn category_label(names: &[String], x: f64) -> String {
    let i = x.floor() as usize;
    if (x - i as f64 - 0.5).abs() < 1e-6 && i < names.len() {
        names[i].clone()
    } else {
        String::new()
    }
}

fn save(root: &Canvas<'_>, path: &Path) -> Result<()> {
    root.present()
        .with_context(|| format!("{}: cannot write", path.display()))
}

/// The columns the figures need, per row.
#[derive(Clone, Debug)]
struct Row {
    class: String,
    length: f64,
    microphone: u8,
    content_type: u8,
    ack_flag: u8,
    highest_layer: u8,
    synchronized: u8,
}

/// The numbers behind every figure.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub rows: u64,
    /// (column, NaN cells): content_type 0 / empty is the paper's NaN.
    pub nan: Vec<(String, u64)>,
    pub classes_before: Vec<(String, u64)>,
    pub classes_after: Vec<(String, u64)>,
    /// class → (mean, p10, p90) of length.
    pub length: Vec<(String, f64, f64, f64)>,
    /// (class, mic on, mic off) for justified and not_justified.
    pub microphone: Vec<(String, u64, u64)>,
    pub synchronized: (u64, u64),
    pub ack_flag: (u64, u64),
    pub highest_layer: Vec<(String, u64)>,
    pub rows_after: u64,
}

fn read(path: &Path) -> Result<(Vec<String>, Vec<Row>)> {
    let mut r = Records::open(path)?;
    let header: Vec<String> = r.header().iter().map(str::to_owned).collect();
    let find = |n: &str| header.iter().position(|h| h == n);
    let need = [
        "class",
        "length",
        "microphone",
        "content_type",
        "ack_flag",
        "highest_layer",
    ];
    for n in need {
        if find(n).is_none() {
            bail!("{}: line 1: no `{n}` column", path.display());
        }
    }
    let idx: Vec<usize> = need.iter().map(|n| find(n).unwrap_or(0)).collect();
    let sync = find("synchronized");
    let mut rows = Vec::new();
    while let Some((line, rec)) = r.next_record()? {
        let num = |i: usize, name: &str| -> Result<f64> {
            let c = rec.get(i).unwrap_or("").trim();
            if c.is_empty() || c.eq_ignore_ascii_case("nan") {
                return Ok(0.0);
            }
            c.parse::<f64>().map_err(|_| {
                anyhow::anyhow!(
                    "{}: line {line}: {name} `{}` is not a number",
                    path.display(),
                    crate::util::text::one_line(c)
                )
            })
        };
        rows.push(Row {
            class: rec.get(idx[0]).unwrap_or("").trim().to_owned(),
            length: num(idx[1], "length")?,
            microphone: num(idx[2], "microphone")? as u8,
            content_type: num(idx[3], "content_type")? as u8,
            ack_flag: num(idx[4], "ack_flag")? as u8,
            highest_layer: num(idx[5], "highest_layer")? as u8,
            synchronized: match sync {
                Some(i) => num(i, "synchronized")? as u8,
                None => 1,
            },
        });
    }
    if rows.is_empty() {
        bail!("{}: line 2: no data rows after the header", path.display());
    }
    Ok((header, rows))
}

fn count_classes<'a>(rows: impl Iterator<Item = &'a Row>) -> Vec<(String, u64)> {
    let mut m: BTreeMap<&str, u64> = BTreeMap::new();
    for r in rows {
        *m.entry(r.class.as_str()).or_default() += 1;
    }
    let mut out: Vec<(String, u64)> = m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Computes every figure's numbers from a dataset CSV.
pub fn summarize(dataset: &Path, opts: &PrepareOptions) -> Result<Summary> {
    let (header, rows) = read(dataset)?;
    let mut s = Summary {
        rows: rows.len() as u64,
        ..Summary::default()
    };
    for h in &header {
        let n = if h == "content_type" {
            rows.iter().filter(|r| r.content_type == 0).count() as u64
        } else {
            0
        };
        s.nan.push((h.clone(), n));
    }
    s.classes_before = count_classes(rows.iter());
    // The same selection as `alexa prepare`.
    let acks = rows.iter().filter(|r| r.class == "ack").count();
    let keep = crate::offline::prepare::ack_keep_mask(acks, opts);
    let mut k = 0;
    let after: Vec<&Row> = rows
        .iter()
        .filter(|r| {
            if r.class != "ack" {
                return true;
            }
            k += 1;
            keep[k - 1]
        })
        .collect();
    s.rows_after = after.len() as u64;
    s.classes_after = count_classes(after.iter().copied());
    for c in CLASS_NAMES {
        let mut v: Vec<f64> = after
            .iter()
            .filter(|r| r.class == c)
            .map(|r| r.length)
            .collect();
        if v.is_empty() {
            continue;
        }
        v.sort_by(f64::total_cmp);
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        s.length
            .push((c.to_owned(), mean, percentile(&v, 0.1), percentile(&v, 0.9)));
    }
    for c in ["justified", "not_justified"] {
        let on = after
            .iter()
            .filter(|r| r.class == c && r.microphone == 1)
            .count() as u64;
        let off = after
            .iter()
            .filter(|r| r.class == c && r.microphone == 0)
            .count() as u64;
        s.microphone.push((c.to_owned(), on, off));
    }
    let synced = after.iter().filter(|r| r.synchronized == 1).count() as u64;
    s.synchronized = (synced, s.rows_after - synced);
    let set = after.iter().filter(|r| r.ack_flag == 1).count() as u64;
    s.ack_flag = (set, s.rows_after - set);
    for (i, name) in ["SSL", "TCP", "DATA", "HTTP"].into_iter().enumerate() {
        let n = after
            .iter()
            .filter(|r| r.highest_layer as usize == i)
            .count() as u64;
        s.highest_layer.push((format!("{i} {name}"), n));
    }
    Ok(s)
}

type Bars<'a> = &'a [(String, f64)];

/// A bar chart with the value written above each bar.
fn bar_chart(path: &Path, title: &str, x_desc: &str, y_desc: &str, bars: Bars<'_>) -> Result<()> {
    let root = canvas(path, (1000, 620))?;
    let max = bars.iter().map(|b| b.1).fold(0.0, f64::max).max(1.0) * 1.15;
    let n = bars.len() as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 28))
        .margin(20)
        .x_label_area_size(70)
        .y_label_area_size(90)
        .build_cartesian_2d(0f64..n, 0f64..max)?;
    let names: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(bars.len() * 2 + 1)
        .x_label_formatter(&|x| category_label(&names, *x))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style(("sans-serif", 17))
        .axis_desc_style(("sans-serif", 20))
        .draw()?;
    chart.draw_series(bars.iter().enumerate().map(|(i, b)| {
        let color = Palette99::pick(i).filled();
        Rectangle::new([(i as f64 + 0.15, 0.0), (i as f64 + 0.85, b.1)], color)
    }))?;
    chart.draw_series(bars.iter().enumerate().map(|(i, b)| {
        Text::new(
            format!("{:.0}", b.1),
            (i as f64 + 0.3, b.1 + max * 0.02),
            ("sans-serif", 17),
        )
    }))?;
    save(&root, path)
}

/// Figure 7: mean length per class (bar) with the 10th-90th percentile range.
fn length_chart(path: &Path, s: &Summary) -> Result<()> {
    let root = canvas(path, (1100, 620))?;
    let max = s.length.iter().map(|l| l.3).fold(0.0, f64::max).max(1.0) * 1.15;
    let n = s.length.len() as f64;
    let names: Vec<String> = s.length.iter().map(|l| l.0.clone()).collect();
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Length per class (mean; bar: 10th-90th percentile)",
            ("sans-serif", 26),
        )
        .margin(20)
        .x_label_area_size(70)
        .y_label_area_size(90)
        .build_cartesian_2d(0f64..n, 0f64..max)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(names.len() * 2 + 1)
        .x_label_formatter(&|x| category_label(&names, *x))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .x_desc("class")
        .y_desc("length (L4 payload bytes)")
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 20))
        .draw()?;
    chart.draw_series(s.length.iter().enumerate().map(|(i, l)| {
        Rectangle::new(
            [(i as f64 + 0.2, 0.0), (i as f64 + 0.8, l.1)],
            Palette99::pick(i).filled(),
        )
    }))?;
    chart.draw_series(s.length.iter().enumerate().map(|(i, l)| {
        PathElement::new(
            vec![(i as f64 + 0.5, l.2), (i as f64 + 0.5, l.3)],
            BLACK.stroke_width(3),
        )
    }))?;
    chart.draw_series(s.length.iter().enumerate().map(|(i, l)| {
        Text::new(
            format!("{:.0}", l.1),
            (i as f64 + 0.25, l.3 + max * 0.02),
            ("sans-serif", 16),
        )
    }))?;
    save(&root, path)
}

/// Figure 8: justified / not_justified by microphone state, grouped bars.
fn microphone_chart(path: &Path, s: &Summary) -> Result<()> {
    let root = canvas(path, (1000, 620))?;
    let max = s
        .microphone
        .iter()
        .map(|m| m.1.max(m.2) as f64)
        .fold(1.0, f64::max)
        * 1.15;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "justified / not_justified by microphone state",
            ("sans-serif", 26),
        )
        .margin(20)
        .x_label_area_size(70)
        .y_label_area_size(90)
        .build_cartesian_2d(0f64..2.0, 0f64..max)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(5)
        .x_label_formatter(&|x| match (x * 2.0).round() as i64 {
            1 => "microphone on".to_owned(),
            3 => "microphone off".to_owned(),
            _ => String::new(),
        })
        .y_label_formatter(&|y| format!("{y:.0}"))
        .x_desc("microphone")
        .y_desc("packets")
        .label_style(("sans-serif", 17))
        .axis_desc_style(("sans-serif", 20))
        .draw()?;
    for (k, (class, on, off)) in s.microphone.iter().enumerate() {
        let color = Palette99::pick(k);
        let x0 = 0.15 + k as f64 * 0.35;
        let bars = [(x0, *on as f64), (1.0 + x0, *off as f64)];
        chart
            .draw_series(
                bars.iter()
                    .map(|(x, v)| Rectangle::new([(*x, 0.0), (x + 0.33, *v)], color.filled())),
            )?
            .label(class.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], color.filled()));
        chart.draw_series(bars.iter().map(|(x, v)| {
            Text::new(
                format!("{v:.0}"),
                (x + 0.08, v + max * 0.02),
                ("sans-serif", 17),
            )
        }))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 18))
        .draw()?;
    save(&root, path)
}

fn to_bars(v: &[(String, u64)]) -> Vec<(String, f64)> {
    v.iter().map(|(k, n)| (k.clone(), *n as f64)).collect()
}

fn table(out: &mut String, head: [&str; 2], rows: &[(String, u64)]) {
    let _ = writeln!(out, "| {} | {} |\n|---|---:|", head[0], head[1]);
    for (k, v) in rows {
        let _ = writeln!(out, "| {} | {v} |", if k.is_empty() { "(none)" } else { k });
    }
    out.push('\n');
}

/// `alexa report`: writes the figures and `summary.md` into `out`.
pub fn report(dataset: &Path, out: &Path, opts: &PrepareOptions) -> Result<Summary> {
    let s = summarize(dataset, opts)?;
    std::fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))?;
    let p = |n: &str| out.join(n);
    let nan: Vec<(String, u64)> = s.nan.clone();
    bar_chart(
        &p("fig04_nan.png"),
        "NaN values per feature",
        "feature",
        "NaN values",
        &to_bars(&nan),
    )?;
    bar_chart(
        &p("fig05_classes.png"),
        &format!("Target classes ({} packets)", s.rows),
        "class",
        "packets",
        &to_bars(&s.classes_before),
    )?;
    bar_chart(
        &p("fig06_classes_downsampled.png"),
        &format!(
            "Target classes after keeping {}% of ack ({} packets)",
            opts.ack_keep * 100.0,
            s.rows_after
        ),
        "class",
        "packets",
        &to_bars(&s.classes_after),
    )?;
    length_chart(&p("fig07_length.png"), &s)?;
    microphone_chart(&p("fig08_microphone.png"), &s)?;
    let sync = vec![
        ("synchronized".to_owned(), s.synchronized.0),
        ("not synchronized".to_owned(), s.synchronized.1),
    ];
    bar_chart(
        &p("fig09_synchronized.png"),
        "Synchronized",
        "synchronized",
        "packets",
        &to_bars(&sync),
    )?;
    let ack = vec![
        ("ack flag set".to_owned(), s.ack_flag.0),
        ("ack flag not set".to_owned(), s.ack_flag.1),
    ];
    bar_chart(
        &p("fig10_ack_flag.png"),
        "ACK flag",
        "ack_flag",
        "packets",
        &to_bars(&ack),
    )?;
    bar_chart(
        &p("fig11_highest_layer.png"),
        "Highest layer",
        "highest_layer",
        "packets",
        &to_bars(&s.highest_layer),
    )?;

    let mut md = String::new();
    let _ = writeln!(md, "# Dataset summary\n\nSource: `{}`; {} rows; after keeping {}% of `ack` rows (seed {}): {} rows.\n", dataset.display(), s.rows, opts.ack_keep * 100.0, opts.seed, s.rows_after);
    md += "## NaN values per feature (Figure 4)\n\n";
    table(&mut md, ["feature", "NaN"], &nan);
    md += "## Classes (Figure 5)\n\n";
    table(&mut md, ["class", "packets"], &s.classes_before);
    md += "## Classes after down-sampling `ack` (Figure 6)\n\n";
    table(&mut md, ["class", "packets"], &s.classes_after);
    md += "## Length per class, after down-sampling (Figure 7)\n\n| class | mean | p10 | p90 |\n|---|---:|---:|---:|\n";
    for (c, m, lo, hi) in &s.length {
        let _ = writeln!(md, "| {c} | {m:.1} | {lo:.0} | {hi:.0} |");
    }
    md += "\n## justified / not_justified by microphone (Figure 8)\n\n| class | microphone on | microphone off |\n|---|---:|---:|\n";
    for (c, on, off) in &s.microphone {
        let _ = writeln!(md, "| {c} | {on} | {off} |");
    }
    md += "\n## Synchronized (Figure 9)\n\n";
    table(&mut md, ["synchronized", "packets"], &sync);
    md += "## ACK flag (Figure 10)\n\n";
    table(&mut md, ["ack_flag", "packets"], &ack);
    md += "## Highest layer (Figure 11)\n\n";
    table(&mut md, ["highest_layer", "packets"], &s.highest_layer);
    let mut f = AtomicFile::create(&p("summary.md"))?;
    f.write_all(md.as_bytes())?;
    f.commit()?;
    Ok(s)
}
