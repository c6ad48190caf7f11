//! PNG figures for `--report DIR`: the confusion matrix and the feature
//! importances. Drawn with plotters into memory, encoded as PNG and written
//! through `AtomicFile`. Text uses the embedded DejaVu Sans (`font`).

use std::path::{Path, PathBuf};

use alexa_common::{CLASS_NAMES, NUM_CLASSES};
use anyhow::{bail, Context as _, Result};
use plotters::prelude::*;

use crate::offline::model::{evaluate::Confusion, Model};
use crate::util::atomic_file::AtomicFile;

const FONT: &str = "sans-serif";

fn write_png(
    path: &Path,
    w: u32,
    h: u32,
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>) -> Result<()>,
) -> Result<()> {
    super::font::register();
    let mut buf = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| anyhow::anyhow!("{}: drawing failed: {e}", path.display()))?;
        draw(&root)?;
        root.present()
            .map_err(|e| anyhow::anyhow!("{}: drawing failed: {e}", path.display()))?;
    }
    let mut out = AtomicFile::create(path)?;
    image::codecs::png::PngEncoder::new(out.writer())
        .write_image(&buf, w, h, image::ColorType::Rgb8)
        .with_context(|| format!("{}: cannot encode PNG", path.display()))?;
    out.commit()
}

use image::ImageEncoder as _;

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("drawing failed: {e}")
}

/// `DIR/confusion_matrix.png`: counts, shaded by the share of the true class.
pub fn confusion_png(dir: &Path, c: &Confusion, title: &str) -> Result<PathBuf> {
    let path = dir.join("confusion_matrix.png");
    let cell = 90i32;
    let left = 150i32;
    let top = 90i32;
    let n = NUM_CLASSES as i32;
    let w = (left + n * cell + 30) as u32;
    let h = (top + n * cell + 130) as u32;
    write_png(&path, w, h, |root| {
        let font = |size: f64| (FONT, size).into_font();
        root.draw(&Text::new(
            title.to_owned(),
            (10, 10),
            font(22.0).color(&BLACK),
        ))
        .map_err(err)?;
        root.draw(&Text::new(
            "rows: true class; columns: predicted; shade: share of the true class".to_owned(),
            (10, 40),
            font(15.0).color(&BLACK),
        ))
        .map_err(err)?;
        for (t, true_name) in CLASS_NAMES.iter().enumerate() {
            let support = c.support(t).max(1) as f64;
            for p in 0..NUM_CLASSES {
                let v = c.m[t][p];
                let share = v as f64 / support;
                let x0 = left + p as i32 * cell;
                let y0 = top + t as i32 * cell;
                let shade = (255.0 * (1.0 - share)) as u8;
                let fill = if t == p {
                    RGBColor(shade, shade, 255)
                } else {
                    RGBColor(255, shade, shade)
                };
                root.draw(&Rectangle::new(
                    [(x0, y0), (x0 + cell, y0 + cell)],
                    fill.filled(),
                ))
                .map_err(err)?;
                root.draw(&Rectangle::new(
                    [(x0, y0), (x0 + cell, y0 + cell)],
                    BLACK.stroke_width(1),
                ))
                .map_err(err)?;
                let color = if share > 0.6 { WHITE } else { BLACK };
                let text = v.to_string();
                let tx = x0 + cell / 2 - 5 * text.len() as i32;
                root.draw(&Text::new(
                    text,
                    (tx, y0 + cell / 2 - 9),
                    font(18.0).color(&color),
                ))
                .map_err(err)?;
            }
            root.draw(&Text::new(
                true_name.to_string(),
                (8, top + t as i32 * cell + cell / 2 - 9),
                font(16.0).color(&BLACK),
            ))
            .map_err(err)?;
        }
        for (p, pred_name) in CLASS_NAMES.iter().enumerate() {
            let x = left + p as i32 * cell + cell / 2 - 8;
            let y = top + n * cell + 8;
            root.draw(&Text::new(
                pred_name.to_string(),
                (x, y),
                font(16.0).transform(FontTransform::Rotate90).color(&BLACK),
            ))
            .map_err(err)?;
        }
        Ok(())
    })?;
    Ok(path)
}

/// `DIR/feature_importance.png`: one bar per feature, largest on top.
pub fn importance_png(dir: &Path, importance: &[(String, f64)], title: &str) -> Result<PathBuf> {
    let path = dir.join("feature_importance.png");
    if importance.is_empty() {
        bail!("{}: no feature importances to draw", path.display());
    }
    let mut items = importance.to_vec();
    // Ascending: the chart draws index 0 at the bottom, so the largest ends on top.
    items.sort_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
    let max = items.iter().map(|i| i.1).fold(0.0, f64::max).max(1e-9);
    let h = 100 + 40 * items.len() as u32;
    write_png(&path, 900, h, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 22))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(140)
            .build_cartesian_2d(0.0..max * 1.1, (0..items.len()).into_segmented())
            .map_err(err)?;
        let labels: Vec<String> = items.iter().map(|i| i.0.clone()).collect();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc("share of weighted impurity decrease")
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 15))
            .y_labels(items.len())
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .draw()
            .map_err(err)?;
        chart
            .draw_series(items.iter().enumerate().map(|(i, (_, v))| {
                let mut bar = Rectangle::new(
                    [
                        (0.0, SegmentValue::Exact(i)),
                        (*v, SegmentValue::Exact(i + 1)),
                    ],
                    RGBColor(70, 110, 180).filled(),
                );
                bar.set_margin(6, 6, 0, 0);
                bar
            }))
            .map_err(err)?;
        chart
            .draw_series(items.iter().enumerate().map(|(i, (_, v))| {
                Text::new(
                    format!("{v:.3}"),
                    (*v + max * 0.01, SegmentValue::CenterOf(i)),
                    (FONT, 14),
                )
            }))
            .map_err(err)?;
        Ok(())
    })?;
    Ok(path)
}

/// Writes the confusion matrix and feature importance PNGs into `dir`.
pub fn write_report(dir: &Path, model: &Model, c: &Confusion, what: &str) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let title = format!(
        "{what}: accuracy {:.4}, macro-F1 {:.4}",
        c.accuracy(),
        c.macro_f1()
    );
    let a = confusion_png(dir, c, &title)?;
    let imp: Vec<(String, f64)> = model
        .file
        .training
        .feature_importance
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    let b = importance_png(dir, &imp, "feature importance (training)")?;
    eprintln!("alexa: wrote {} and {}", a.display(), b.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_writes_both_pngs() {
        let dir = std::env::temp_dir().join(format!("alexa-figures-model-{}", std::process::id()));
        let m = crate::offline::model::embedded::echo().unwrap();
        let mut c = Confusion::default();
        for (truth, predicted) in [(0, 0), (1, 1), (6, 6), (6, 5), (5, 5), (2, 2)] {
            c.add(truth, predicted);
        }
        write_report(&dir, &m, &c, "test").unwrap();
        for name in ["confusion_matrix.png", "feature_importance.png"] {
            let png = std::fs::read(dir.join(name)).unwrap();
            assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
            assert!(png.len() > 5_000, "{name} is {} bytes", png.len());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
