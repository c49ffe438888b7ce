//! The hand-written pieces of the landscape networks agree with candle's reference operations,
//! including their gradients.

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use moodscape::landscape::generator::{GeneratorNet, DEFAULT_CHANNELS};
use moodscape::landscape::latent::LATENT_DIM;
use moodscape::landscape::layers::{
    avg_pool2x, film_activation, leaky_relu, pixel_norm, upsample2x, Conv3x3, Upsampling,
};

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

#[test]
fn im2col_convolution_matches_candle_conv2d() {
    let varmap = VarMap::new();
    let conv = Conv3x3::new(
        5,
        7,
        VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu),
    )
    .unwrap();
    let x = Tensor::randn(0f32, 1.0, (2, 6, 9, 5), &Device::Cpu).unwrap();
    let ours = conv.forward(&x).unwrap();
    let reference = conv.forward_builtin(&x).unwrap();
    assert_eq!(ours.dims(), &[2, 6, 9, 7]);
    assert!(max_abs_diff(&ours, &reference) < 1e-4);
}

#[test]
fn im2col_gradient_matches_candle_conv2d_gradient() {
    let varmap = VarMap::new();
    let conv = Conv3x3::new(
        3,
        4,
        VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu),
    )
    .unwrap();
    let x = Var::randn(0f32, 1.0, (2, 5, 5, 3), &Device::Cpu).unwrap();
    let weights = Tensor::randn(0f32, 1.0, (2, 5, 5, 4), &Device::Cpu).unwrap();
    let ours = (conv.forward(x.as_tensor()).unwrap() * &weights)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let reference = (conv.forward_builtin(x.as_tensor()).unwrap() * &weights)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let (a, b) = (
        ours.get(x.as_tensor()).unwrap(),
        reference.get(x.as_tensor()).unwrap(),
    );
    assert!(max_abs_diff(a, b) < 1e-4, "input gradients differ");
}

#[test]
fn upsampling_and_pooling_are_adjoint_and_correct() {
    let x = Var::new(&[[[[1f32, 2.0], [3.0, 4.0]]]], &Device::Cpu).unwrap(); // (1, 1, 2, 2): H=1, W=2, C=2
    let up = upsample2x(x.as_tensor()).unwrap();
    assert_eq!(up.dims(), &[1, 2, 4, 2]);
    assert_eq!(
        up.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        vec![1., 2., 1., 2., 3., 4., 3., 4., 1., 2., 1., 2., 3., 4., 3., 4.]
    );
    assert_eq!(
        avg_pool2x(&up)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap(),
        vec![1., 2., 3., 4.]
    );
    // Each input pixel is copied to 4 outputs, so its gradient under a sum is 4.
    let grads = up.sum_all().unwrap().backward().unwrap();
    assert_eq!(
        grads
            .get(x.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap(),
        vec![4.0; 4]
    );
}

#[test]
fn fused_inference_matches_the_training_graph() {
    let h = Tensor::randn(0f32, 1.0, (2, 4, 4, 6), &Device::Cpu).unwrap();
    let bias = Tensor::randn(0f32, 1.0, 6, &Device::Cpu).unwrap();
    let gamma = Tensor::randn(1f32, 0.3, (2, 6), &Device::Cpu).unwrap();
    let beta = Tensor::randn(0f32, 0.3, (2, 6), &Device::Cpu).unwrap();
    let fused = film_activation(&h, &bias, &gamma, &beta).unwrap();
    let normed = pixel_norm(&h.broadcast_add(&bias).unwrap()).unwrap();
    let reference = leaky_relu(
        &normed
            .broadcast_mul(&gamma.reshape((2, 1, 1, 6)).unwrap())
            .unwrap()
            .broadcast_add(&beta.reshape((2, 1, 1, 6)).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert!(max_abs_diff(&fused, &reference) < 1e-5);

    let varmap = VarMap::new();
    let net = GeneratorNet::new(
        &DEFAULT_CHANNELS,
        Upsampling::Nearest,
        VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu),
    )
    .unwrap();
    let z = Tensor::randn(0f32, 1.0, (3, LATENT_DIM), &Device::Cpu).unwrap();
    let va = Tensor::new(&[[0.5f32, -0.5], [-1.0, 1.0], [0.0, 0.0]], &Device::Cpu).unwrap();
    let training = net.forward(&z, &va).unwrap();
    let inference = net.forward_inference(&z, &va).unwrap();
    assert_eq!(training.dims(), &[3, 64, 64, 3]);
    assert!(max_abs_diff(&training, &inference) < 1e-4);
}

#[test]
fn bilinear_upsampling_matches_half_pixel_interpolation_and_its_gradient_is_the_adjoint() {
    // (1, 1, 2, 1): one row [1, 2]. Half-pixel bilinear (PyTorch, align_corners=False) gives
    // [1, 1.25, 1.75, 2] on both output rows.
    let row = Tensor::new(&[[[[1f32], [2.0]]]], &Device::Cpu).unwrap();
    let up = Upsampling::Bilinear.apply(&row).unwrap();
    assert_eq!(up.dims(), &[1, 2, 4, 1]);
    assert_eq!(
        up.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        vec![1., 1.25, 1.75, 2., 1., 1.25, 1.75, 2.]
    );
    // A constant map stays constant: the weights of every output sum to 1, edges included.
    let flat = Tensor::ones((2, 3, 5, 4), DType::F32, &Device::Cpu).unwrap();
    let up = Upsampling::Bilinear.apply(&flat).unwrap();
    assert_eq!(up.dims(), &[2, 6, 10, 4]);
    assert!(max_abs_diff(&up, &Tensor::ones_like(&up).unwrap()) < 1e-6);

    // Backward is the adjoint: <up(x), y> = <x, grad of <up(x), y> with respect to x>.
    let x = Var::randn(0f32, 1.0, (2, 3, 5, 4), &Device::Cpu).unwrap();
    let y = Tensor::randn(0f32, 1.0, (2, 6, 10, 4), &Device::Cpu).unwrap();
    let inner = (Upsampling::Bilinear.apply(x.as_tensor()).unwrap() * &y)
        .unwrap()
        .sum_all()
        .unwrap();
    let grads = inner.backward().unwrap();
    let gradient = grads.get(x.as_tensor()).unwrap();
    let adjoint_side = (x.as_tensor() * gradient)
        .unwrap()
        .sum_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    let direct = inner.to_scalar::<f32>().unwrap();
    assert!(
        (direct - adjoint_side).abs() < 1e-3 * direct.abs().max(1.0),
        "<Ax, y> {direct} vs <x, A'y> {adjoint_side}"
    );
}

#[test]
fn weights_files_carry_their_upsampling() {
    use moodscape::landscape::generator::Generator;
    use moodscape::landscape::latent::Latent;
    use moodscape::va::Va;

    let varmap = VarMap::new();
    let net = GeneratorNet::new(
        &DEFAULT_CHANNELS,
        Upsampling::Bilinear,
        VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu).pp("g"),
    )
    .unwrap();
    let mut tensors: std::collections::HashMap<String, Tensor> = varmap
        .data()
        .lock()
        .unwrap()
        .iter()
        .map(|(name, var)| (name.clone(), var.as_tensor().clone()))
        .collect();
    tensors.extend(net.config_tensors().unwrap());
    let path = std::env::temp_dir().join(format!("moodscape-bilinear-{}.st", std::process::id()));
    candle_core::safetensors::save(&tensors, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);

    let loaded = Generator::from_bytes(&bytes).unwrap();
    assert_eq!(loaded.net().upsampling(), Upsampling::Bilinear);
    let latent = Latent::from_seed(3);
    let mood = Va {
        valence: 0.5,
        arousal: -0.25,
    };
    let picture = loaded.generate(&latent, mood).unwrap();
    let z = Tensor::from_vec(latent.values.clone(), (1, LATENT_DIM), &Device::Cpu).unwrap();
    let va = Tensor::new(&[[0.5f32, -0.25]], &Device::Cpu).unwrap();
    let direct = moodscape::landscape::generator::tensor_pixels_to_images(
        &net.forward(&z, &va)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap(),
        1,
        64,
    );
    let largest_step = picture
        .as_raw()
        .iter()
        .zip(direct[0].as_raw())
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap();
    assert!(
        largest_step <= 1,
        "loaded and trained nets differ by {largest_step} levels"
    );

    // An unknown method is refused in one line; the committed weights predate the tensor and
    // are nearest.
    tensors.insert(
        "config.upsampling".into(),
        Tensor::new(&[7f32], &Device::Cpu).unwrap(),
    );
    candle_core::safetensors::save(&tensors, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let error = Generator::from_bytes(&bytes)
        .err()
        .expect("refused")
        .to_string();
    assert!(error.contains("unknown upsampling"), "{error}");
    assert!(!error.contains('\n'), "{error}");
    if let Ok(shipped) = Generator::embedded() {
        assert_eq!(shipped.net().upsampling(), Upsampling::Nearest);
    }
}
