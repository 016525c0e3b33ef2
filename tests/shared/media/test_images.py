from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageCms, ImageOps, ImageStat

from shared.media import images
from shared.media.errors import CorruptMedia, ImageTooLarge, UnsupportedMedia
from shared.media.images import render_image_presets
from shared.settings import Settings
from tests.shared.media.conftest import pattern

SIZES = {"thumb": 80, "medium": 200, "large": 2048}


def mean_abs_difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference per channel on a 0-255 scale."""
    assert a.size == b.size
    return sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean) / 3


def reference(path: Path, size: tuple[int, int]) -> Image.Image:
    """A straightforward full decode, rotate and resize to compare the engine's output with."""
    with Image.open(path) as image:
        upright = ImageOps.exif_transpose(image).convert("RGB")
        return upright.resize(size, Image.Resampling.LANCZOS)


def test_every_preset_is_written_as_jpeg_and_webp(
    jpeg_rotated: Path, tmp_path: Path, settings: Settings
) -> None:
    outputs = render_image_presets(jpeg_rotated, tmp_path, SIZES, settings)

    assert set(outputs) == {"thumb", "thumb_webp", "medium", "medium_webp", "large", "large_webp"}
    for name, output in outputs.items():
        fmt = "WEBP" if name.endswith("_webp") else "JPEG"
        assert output.path == str(tmp_path / (name.removesuffix("_webp") + output.extension))
        assert output.extension == (".webp" if fmt == "WEBP" else ".jpg")
        assert output.content_type == ("image/webp" if fmt == "WEBP" else "image/jpeg")
        assert output.size == Path(output.path).stat().st_size
        with Image.open(output.path) as written:
            assert written.format == fmt
            assert written.size == (output.width, output.height)


def test_exif_orientation_6_gives_portrait_outputs(
    jpeg_rotated: Path, tmp_path: Path, settings: Settings
) -> None:
    outputs = render_image_presets(jpeg_rotated, tmp_path, SIZES, settings)

    sizes = {name: (output.width, output.height) for name, output in outputs.items()}
    assert sizes == {
        "thumb": (60, 80),
        "thumb_webp": (60, 80),
        "medium": (150, 200),
        "medium_webp": (150, 200),
        # 2048 is bigger than the 300x400 picture: never upscaled.
        "large": (300, 400),
        "large_webp": (300, 400),
    }


@pytest.mark.parametrize("name", ["thumb", "medium", "large", "thumb_webp", "large_webp"])
def test_outputs_look_like_a_plain_rotate_and_resize(
    name: str, jpeg_rotated: Path, tmp_path: Path, settings: Settings
) -> None:
    output = render_image_presets(jpeg_rotated, tmp_path, SIZES, settings)[name]

    with Image.open(output.path) as written:
        expected = reference(jpeg_rotated, written.size)
        assert mean_abs_difference(written, expected) < 6
        # The same picture without the rotation is far off: the check can tell.
        wrong = reference(jpeg_rotated, written.size[::-1]).rotate(90, expand=True)
        assert mean_abs_difference(written, wrong) > 20


def test_a_large_jpeg_decoded_at_reduced_scale_still_matches_a_full_decode(
    jpeg_large: Path, tmp_path: Path, settings: Settings
) -> None:
    output = render_image_presets(jpeg_large, tmp_path, {"thumb": 160}, settings)["thumb"]

    assert (output.width, output.height) == (160, 120)
    with Image.open(output.path) as written:
        assert mean_abs_difference(written, reference(jpeg_large, (160, 120))) < 4


def test_outputs_carry_no_exif_gps_xmp_or_comment(
    jpeg_rotated: Path, tmp_path: Path, settings: Settings
) -> None:
    outputs = render_image_presets(jpeg_rotated, tmp_path, SIZES, settings)

    for output in outputs.values():
        data = Path(output.path).read_bytes()
        for marker in (
            b"Exif\x00\x00",
            b"EXIF",
            b"XMP ",
            b"adobe:ns:meta",
            b"GPS",
            b"TestCam",
            b"shot at home",
            b"ICC_PROFILE",
            b"ICCP",
        ):
            assert marker not in data, f"{marker!r} found in {output.name}"
        with Image.open(output.path) as written:
            assert not written.getexif()
            assert not {"exif", "xmp", "icc_profile", "comment"} & set(written.info)


def test_transparent_pixels_are_flattened_on_white(
    png_alpha: Path, tmp_path: Path, settings: Settings
) -> None:
    outputs = render_image_presets(png_alpha, tmp_path, {"thumb": 60}, settings)

    for name in ("thumb", "thumb_webp"):
        with Image.open(outputs[name].path) as written:
            assert written.mode == "RGB"
            left = written.convert("RGB").getpixel((5, 20))
            right = written.convert("RGB").getpixel((55, 20))
        assert all(channel > 240 for channel in left), left
        assert right[1] > 100 and right[0] < 40, right


def test_an_animated_gif_keeps_its_first_frame(
    gif_animated: Path, tmp_path: Path, settings: Settings
) -> None:
    outputs = render_image_presets(gif_animated, tmp_path, SIZES, settings)

    with Image.open(outputs["large"].path) as written:
        assert written.size == (60, 40)
        red, _green, blue = written.convert("RGB").getpixel((30, 20))
    assert red > 200 and blue < 60


def test_a_webp_upload_is_rendered(webp_image: Path, tmp_path: Path, settings: Settings) -> None:
    outputs = render_image_presets(webp_image, tmp_path, {"thumb": 100}, settings)

    assert (outputs["thumb"].width, outputs["thumb"].height) == (100, 50)


def test_rendering_twice_gives_the_same_files_and_leaves_no_temporary_ones(
    jpeg_rotated: Path, tmp_path: Path, settings: Settings
) -> None:
    first = render_image_presets(jpeg_rotated, tmp_path, SIZES, settings)
    first_bytes = {name: Path(output.path).read_bytes() for name, output in first.items()}

    second = render_image_presets(jpeg_rotated, tmp_path, SIZES, settings)

    assert {name: Path(output.path).read_bytes() for name, output in second.items()} == first_bytes
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        Path(output.path).name for output in second.values()
    )


def test_quality_settings_reach_the_encoders(jpeg_large: Path, tmp_path: Path) -> None:
    low = render_image_presets(
        jpeg_large, tmp_path / "low", {"medium": 800}, Settings.from_env({}, JPEG_QUALITY=30, WEBP_QUALITY=30)
    )
    high = render_image_presets(
        jpeg_large,
        tmp_path / "high",
        {"medium": 800},
        Settings.from_env({}, JPEG_QUALITY=95, WEBP_QUALITY=95),
    )

    assert low["medium"].size < high["medium"].size
    assert low["medium_webp"].size < high["medium_webp"].size


def test_a_truncated_jpeg_is_corrupt(truncated_jpeg: Path, tmp_path: Path, settings: Settings) -> None:
    with pytest.raises(CorruptMedia):
        render_image_presets(truncated_jpeg, tmp_path, SIZES, settings)


def test_a_decompression_bomb_is_refused_before_decoding(
    png_bomb: Path, tmp_path: Path, settings: Settings
) -> None:
    with pytest.raises(ImageTooLarge):
        render_image_presets(png_bomb, tmp_path, SIZES, settings)


def test_text_named_like_a_jpeg_is_refused(text_as_jpg: Path, tmp_path: Path, settings: Settings) -> None:
    with pytest.raises(UnsupportedMedia):
        render_image_presets(text_as_jpg, tmp_path, SIZES, settings)


def test_a_video_is_not_rendered_as_an_image(
    mp4_without_audio: Path, tmp_path: Path, settings: Settings
) -> None:
    with pytest.raises(UnsupportedMedia):
        render_image_presets(mp4_without_audio, tmp_path, SIZES, settings)


def test_an_embedded_colour_profile_is_applied_and_dropped(tmp_path: Path, settings: Settings) -> None:
    source = tmp_path / "profiled.jpg"
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    pattern(300, 200).save(source, "JPEG", quality=95, icc_profile=srgb)

    outputs = render_image_presets(source, tmp_path / "out", {"thumb": 150}, settings)

    for output in outputs.values():
        with Image.open(output.path) as written:
            assert "icc_profile" not in written.info
            assert mean_abs_difference(written, reference(source, (150, 100))) < 4


def test_presets_that_come_out_the_same_size_share_one_encode(
    jpeg_rotated: Path, tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 300x400 upright: "large" (2048) and "medium" (1000) are both the picture itself, never upscaled.
    sizes = {"thumb": 80, "medium": 1000, "large": 2048}
    encoded: list[str] = []
    save_both = images._save_both

    def counting_save_both(image: Image.Image, out: Path, name: str, settings: Settings) -> list:
        encoded.append(name)
        return save_both(image, out, name, settings)

    monkeypatch.setattr(images, "_save_both", counting_save_both)

    outputs = render_image_presets(jpeg_rotated, tmp_path / "shared", sizes, settings)

    # One of the two same-size presets is encoded, the other gets copies of its files.
    assert len(encoded) == 2 and "thumb" in encoded and {"large", "medium"} & set(encoded)
    alone = render_image_presets(jpeg_rotated, tmp_path / "alone", {"picture": 2048}, settings)
    for name in ("large", "large_webp", "medium", "medium_webp"):
        output, own = outputs[name], alone[name.replace(name.removesuffix("_webp"), "picture")]
        assert output.name == name
        assert output.path == str(tmp_path / "shared" / (name.removesuffix("_webp") + output.extension))
        assert (output.width, output.height) == (300, 400)
        assert (output.content_type, output.extension, output.size) == (own.content_type, own.extension, own.size)
        assert Path(output.path).read_bytes() == Path(own.path).read_bytes()
    assert sorted(path.name for path in (tmp_path / "shared").iterdir()) == sorted(
        Path(output.path).name for output in outputs.values()
    )
